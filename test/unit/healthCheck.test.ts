import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  healthCheckInput,
  judgeApp,
  judgeProbe,
  judgeRevision,
  type Probe,
  type RevisionView,
  type Verdict,
} from '../../src/domain/healthCheck';
import { InputError, parseInput } from '../../src/domain/input';

const body = (over: Record<string, unknown> = {}) => ({
  status: 'healthy',
  database: { status: 'ok' },
  redis: { status: 'ok' },
  llm: { provider: 'azure-openai', circuit: 'closed' },
  ...over,
});
const probe = (httpStatus: number, b: Record<string, unknown> | null = body()): Probe => ({
  url: 'http://x/health',
  httpStatus,
  latencyMs: 5,
  ...(b ? { body: b as Probe['body'] } : {}),
});

describe('judgeProbe', () => {
  const cases: [string, Probe | undefined, Verdict, RegExp?][] = [
    ['all ok', probe(200), 'healthy'],
    ['not probed', undefined, 'unhealthy', /not probed/],
    ['refused', { url: 'u', latencyMs: 1, error: 'ECONNREFUSED' }, 'unhealthy', /ECONNREFUSED/],
    ['503', probe(503, body({ status: 'unhealthy' })), 'unhealthy', /503/],
    [
      'db down',
      probe(200, body({ database: { status: 'error', error: 'timeout' } })),
      'unhealthy',
      /database error: timeout/,
    ],
    ['redis down', probe(200, body({ redis: { status: 'error' } })), 'degraded', /redis/],
    [
      'circuit open',
      probe(200, body({ llm: { provider: 'anthropic', circuit: 'open' } })),
      'degraded',
      /circuit open \(anthropic\)/,
    ],
    ['not json', probe(200, null), 'unhealthy', /not the expected JSON/],
    ['app degraded', probe(200, body({ status: 'degraded' })), 'degraded', /app reports degraded/],
  ];
  for (const [name, p, verdict, reason] of cases) {
    test(name, () => {
      const judged = judgeProbe(p);
      assert.equal(judged.verdict, verdict);
      if (reason) assert.match(judged.reasons.join('; '), reason);
      else assert.deepEqual(judged.reasons, []);
    });
  }
});

describe('judgeRevision and judgeApp', () => {
  const rev = (name: string, weight: number, over: Partial<RevisionView> = {}): RevisionView => ({
    name,
    active: true,
    trafficWeight: weight,
    runningState: 'Running',
    healthState: 'Healthy',
    ...over,
  });
  const cases: [string, [RevisionView, Probe | undefined][], Verdict][] = [
    ['one healthy revision', [[rev('a', 100), probe(200)]], 'healthy'],
    [
      'serving revision broken',
      [
        [rev('a', 90), probe(200)],
        [rev('b', 10), probe(503, body({ status: 'unhealthy' }))],
      ],
      'unhealthy',
    ],
    [
      'idle revision broken only degrades',
      [
        [rev('a', 100), probe(200)],
        [rev('b', 0), probe(503)],
      ],
      'degraded',
    ],
    ['stopped serving revision', [[rev('a', 100, { runningState: 'Stopped' }), probe(200)]], 'unhealthy'],
    ['ARM unhealthy, probe fine', [[rev('a', 100, { healthState: 'Unhealthy' }), probe(200)]], 'degraded'],
    [
      'inactive revisions ignored',
      [
        [rev('a', 100), probe(200)],
        [rev('old', 0, { active: false }), undefined],
      ],
      'healthy',
    ],
    ['no active revision', [[rev('old', 0, { active: false }), undefined]], 'unhealthy'],
  ];
  for (const [name, revs, verdict] of cases) {
    test(name, () => {
      const judged = revs.map(([r, p]) => judgeRevision(r, p));
      assert.equal(judgeApp(probe(200), judged).verdict, verdict);
    });
  }
  test('ingress down makes the app unhealthy', () => {
    const judged = [judgeRevision(rev('a', 100), probe(200))];
    const app = judgeApp({ url: 'i', latencyMs: 1, error: 'ECONNREFUSED' }, judged);
    assert.equal(app.verdict, 'unhealthy');
    assert.match(app.reasons[0]!, /^ingress: unreachable/);
  });
});

describe('healthCheckInput', () => {
  const bad: [unknown, RegExp][] = [
    [{}, /app: expected a container app name/],
    [{ app: 'Fluent_Edge' }, /app: expected a container app name/],
    [{ app: 'ok-app', environment: 'prod' }, /environment: expected production, staging, dev or sandbox/],
    [{ app: 'ok-app', resourceGroup: 'rg with spaces' }, /resourceGroup/],
    [{ app: 'ok-app', timeoutMs: 5 }, /timeoutMs/],
    [{ app: 'ok-app', dryRun: 'yes' }, /dryRun/],
    [{ app: 'ok-app', colour: 'blue' }, /colour: unknown field/],
    ['fluentedge-backend', /\(root\)/],
  ];
  for (const [raw, message] of bad) {
    test(`rejects ${JSON.stringify(raw)}`, () => {
      assert.throws(
        () => parseInput(healthCheckInput, raw),
        (err: unknown) => {
          assert.ok(err instanceof InputError);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }
  test('accepts the minimal input', () => {
    assert.deepEqual(parseInput(healthCheckInput, { app: 'fluentedge-backend' }), {
      app: 'fluentedge-backend',
    });
  });
});
