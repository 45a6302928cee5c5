import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { judgeWindow, nextAction, p95, type AnalysisRun, type Sample } from '../../src/domain/analysis';
import { applyDecision, decide, type GateState } from '../../src/domain/approval';
import {
  analysisSchema,
  approvalPolicySchema,
  canaryInput,
  canaryWorkflowId,
  revisionSuffix,
  stepsOf,
} from '../../src/domain/canary';
import { formatDuration, parseDuration } from '../../src/domain/duration';
import { InputError, parseInput } from '../../src/domain/input';

const image = 'fluentedgeacr.azurecr.io/fluentedge-backend:2.0.0';

describe('durations', () => {
  const cases: [string, number | undefined][] = [
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['45s', 45_000],
    ['500ms', 500],
    ['1.5s', 1500],
    ['0s', 0],
    ['10', undefined],
    ['m', undefined],
    ['10 m', undefined],
    ['-5s', undefined],
  ];
  for (const [text, ms] of cases) test(`${text} → ${ms}`, () => assert.equal(parseDuration(text), ms));
  test('format round-trips', () => assert.equal(formatDuration(5_400_500), '1h30m500ms'));
});

describe('canary input', () => {
  test('defaults are the manual: 10 → 50 (approval) → 100, 5xx < 1%, P95 < 3000 ms', () => {
    const config = parseInput(canaryInput, { app: 'fluentedge-backend', image });
    assert.deepEqual(
      stepsOf(config).map((s) => [s.setWeight, s.bake, s.approval]),
      [
        [10, 600_000, undefined],
        [50, 600_000, true],
        [100, undefined, undefined],
      ],
    );
    assert.equal(config.analysis.thresholds.maxErrorRate, 0.01);
    assert.equal(config.analysis.thresholds.maxP95Ms, 3000);
    assert.equal(config.approvals.onExpiry, 'rollback');
  });

  const bad: [string, unknown, RegExp][] = [
    ['missing image', { image: undefined }, /image: expected an image reference/],
    [
      'image without tag',
      { app: 'fluentedge-backend', image: 'acr.io/backend' },
      /image: expected an image reference with a tag/,
    ],
    [
      'weights not increasing',
      { steps: [{ setWeight: 50 }, { setWeight: 10 }, { setWeight: 100 }] },
      /steps\.1\.setWeight: weights must increase: 10 after 50/,
    ],
    ['weight 0', { steps: [{ setWeight: 0 }, { setWeight: 100 }] }, /steps\.0\.setWeight/],
    ['weight 150', { steps: [{ setWeight: 150 }] }, /steps\.0\.setWeight/],
    [
      'last not 100',
      { steps: [{ setWeight: 10 }, { setWeight: 50 }] },
      /steps\.1\.setWeight: the last step must set weight 100/,
    ],
    ['unknown step key', { steps: [{ setWeight: 100, wait: '1m' }] }, /steps\.0\.wait: unknown field/],
    ['empty step', { steps: [{}, { setWeight: 100 }] }, /steps\.0: a step needs at least one/],
    [
      'bad bake',
      { steps: [{ setWeight: 10, bake: 'ten minutes' }, { setWeight: 100 }] },
      /steps\.0\.bake: expected a duration/,
    ],
    [
      'fractional weight',
      { steps: [{ setWeight: 12.5 }, { setWeight: 100 }] },
      /steps\.0\.setWeight: expected an integer/,
    ],
    ['bad noData', { analysis: { noData: 'ignore' } }, /analysis\.noData: expected fail, hold or pass/],
    [
      'bad interval',
      { analysis: { interval: '100ms' } },
      /analysis\.interval: expected a duration between 1s/,
    ],
    ['bad quorum', { approvals: { quorum: 0 } }, /approvals\.quorum/],
    ['unknown top-level key', { stpes: [] }, /stpes: unknown field/],
    ['bad environment', { environment: 'prod' }, /environment: expected production, staging, dev or sandbox/],
  ];
  for (const [name, over, message] of bad) {
    test(`rejects ${name}`, () => {
      assert.throws(
        () => parseInput(canaryInput, { app: 'fluentedge-backend', image, ...(over as object) }),
        (err: unknown) => {
          assert.ok(err instanceof InputError);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }
});

describe('revision suffix and workflow id', () => {
  const cases: [string, string, string, RegExp][] = [
    ['fluentedge-backend', image, 'canary-a', /^v2-0-0-[a-z0-9]{5}$/],
    [
      'fluentedge-backend',
      'acr.io/x:Release_2026.12-faulty',
      'canary-b',
      /^release-2026-12-faulty-[a-z0-9]{5}$/,
    ],
    ['fluentedge-backend', `acr.io/x:${'a'.repeat(100)}`, 'canary-c', /^a+-[a-z0-9]{5}$/],
  ];
  for (const [app, img, wf, shape] of cases) {
    test(`${img} → ${shape}`, () => {
      const suffix = revisionSuffix(app, img, wf);
      assert.match(suffix, shape);
      assert.ok(`${app}--${suffix}`.length <= 54);
      assert.equal(revisionSuffix(app, img, wf), suffix, 'deterministic');
    });
  }
  test('differs per workflow', () =>
    assert.notEqual(revisionSuffix('a', image, 'w1'), revisionSuffix('a', image, 'w2')));
  test('deterministic id', () =>
    assert.equal(canaryWorkflowId('fluentedge-backend', image), 'canary-fluentedge-backend-2.0.0'));
});

describe('analysis verdicts', () => {
  const config = analysisSchema.parse({ minSamples: 20 });
  const stableCompare = analysisSchema.parse({ minSamples: 20, compareToStable: {} });
  const s = (requests: number, errors: number, p95Ms?: number): Sample => ({
    requests,
    errors,
    ...(p95Ms === undefined ? {} : { p95Ms }),
  });
  const cases: [string, typeof config, Sample, Sample | undefined, string][] = [
    ['clean', config, s(100, 0, 120), undefined, 'pass'],
    ['exactly 1% 5xx fails (< 1% required)', config, s(100, 1, 120), undefined, 'fail'],
    ['20% 5xx', config, s(100, 20, 120), undefined, 'fail'],
    ['slow', config, s(100, 0, 4100), undefined, 'fail'],
    ['too few samples → hold', config, s(5, 0, 100), undefined, 'inconclusive'],
    [
      'too few samples, noData=fail',
      analysisSchema.parse({ noData: 'fail' }),
      s(5, 0, 100),
      undefined,
      'fail',
    ],
    [
      'too few samples, noData=pass',
      analysisSchema.parse({ noData: 'pass' }),
      s(5, 0, 100),
      undefined,
      'pass',
    ],
    ['vs stable: same', stableCompare, s(100, 2, 200), s(100, 2, 190), 'pass'],
    ['vs stable: 5xx way up', stableCompare, s(100, 10, 200), s(100, 2, 190), 'fail'],
    ['vs stable: 2× slower', stableCompare, s(100, 0, 400), s(100, 0, 190), 'fail'],
    ['vs stable: stable has no data', stableCompare, s(100, 0, 200), s(3, 0, 190), 'inconclusive'],
  ];
  for (const [name, cfg, canary, stable, verdict] of cases) {
    test(name, () => assert.equal(judgeWindow(cfg, canary, stable, 't').verdict, verdict));
  }
  test('numbers are in the result', () => {
    const run = judgeWindow(config, s(200, 40, 150), undefined, 't');
    assert.match(run.checks[0]!.detail, /5xx 20\.00% \(limit < 1\.00%, 40\/200\)/);
  });

  const run = (verdict: AnalysisRun['verdict']): AnalysisRun => ({
    at: 't',
    verdict,
    canary: s(0, 0),
    checks: [],
  });
  const limits = analysisSchema.parse({ failureLimit: 2, inconclusiveLimit: 3 });
  const actions: [string, AnalysisRun['verdict'][], string][] = [
    ['nothing yet', [], 'continue'],
    ['one failure', ['fail'], 'continue'],
    ['two consecutive failures', ['pass', 'fail', 'fail'], 'rollback'],
    ['failures not consecutive', ['fail', 'pass', 'fail'], 'continue'],
    ['three inconclusive', ['inconclusive', 'inconclusive', 'inconclusive'], 'hold'],
    ['inconclusive broken by pass', ['inconclusive', 'inconclusive', 'pass', 'inconclusive'], 'continue'],
  ];
  for (const [name, verdicts, action] of actions) {
    test(`next action: ${name}`, () => assert.equal(nextAction(limits, verdicts.map(run)).action, action));
  }
  test('p95 nearest rank', () => {
    assert.equal(p95([]), undefined);
    assert.equal(p95(Array.from({ length: 100 }, (_, i) => i + 1)), 95);
    assert.equal(p95([5]), 5);
  });
});

describe('approval policy', () => {
  const gate = (over: Partial<GateState> = {}): GateState => ({
    gate: 'promote-50',
    openedAt: 0,
    approvals: [],
    ...over,
  });
  const policy = (over: object = {}) => approvalPolicySchema.parse(over);
  const d = (approver: string, decision: 'approve' | 'reject' = 'approve', g = 'promote-50') => ({
    gate: g,
    approver,
    decision,
    comment: '',
  });
  const cases: [
    string,
    ReturnType<typeof policy>,
    GateState | undefined,
    ReturnType<typeof d>,
    string | undefined,
    boolean,
    string?,
  ][] = [
    ['anyone approves', policy(), gate(), d('alice'), 'ci-bot', true, 'approved'],
    ['self-approval refused', policy(), gate(), d('ci-bot'), 'ci-bot', false],
    [
      'self-approval allowed by policy',
      policy({ allowSelfApproval: true }),
      gate(),
      d('ci-bot'),
      'ci-bot',
      true,
      'approved',
    ],
    ['initiator may reject', policy(), gate(), d('ci-bot', 'reject'), 'ci-bot', true, 'rejected'],
    ['not allow-listed', policy({ allow: ['alice'] }), gate(), d('mallory'), 'ci-bot', false],
    ['allow-listed', policy({ allow: ['alice'] }), gate(), d('alice'), 'ci-bot', true, 'approved'],
    ['quorum 2: first approval', policy({ quorum: 2 }), gate(), d('alice'), 'ci-bot', true, undefined],
    [
      'quorum 2: second approval',
      policy({ quorum: 2 }),
      gate({ approvals: ['alice'] }),
      d('bob'),
      'ci-bot',
      true,
      'approved',
    ],
    [
      'quorum 2: same person twice',
      policy({ quorum: 2 }),
      gate({ approvals: ['alice'] }),
      d('alice'),
      'ci-bot',
      false,
    ],
    ['wrong gate', policy(), gate(), d('alice', 'approve', 'promote-100'), 'ci-bot', false],
    ['no gate open', policy(), undefined, d('alice'), 'ci-bot', false],
    ['gate already closed', policy(), gate({ outcome: 'expired' }), d('alice'), 'ci-bot', false],
  ];
  for (const [name, p, g, decision, initiator, accepted, closes] of cases) {
    test(name, () => {
      const result = decide(p, g, decision, initiator);
      assert.equal(result.accepted, accepted, result.reason);
      assert.equal(result.closes, closes);
      if (g && accepted) assert.equal(applyDecision(g, decision, result).outcome, closes);
    });
  }
});
