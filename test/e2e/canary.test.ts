import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { createAzureClients } from '../../src/activities/azure';
import type { CanaryResult } from '../../src/domain/canary';
import type { RunbookStatus } from '../../src/domain/status';
import type { Sandbox } from '../../src/sandbox/environment';
import { connectClient } from '../../src/starters/client';
import { admin, jsonLines, runbookCli, testSandbox } from '../helpers/sandbox';

// Canary promotion end to end: CLI → Temporal → worker process → ARM emulator → real revision
// processes behind the weighted ingress. Short bakes; the 10-minute ones run time-skipped in
// test/workflow/canary.test.ts.

const app = 'fluentedge-backend';
const registry = 'fluentedgeacr.azurecr.io/fluentedge-backend';

interface Mutation {
  seq: number;
  time: string;
  method: string;
  path: string;
  status: number;
  body?: {
    properties?: { configuration?: { ingress?: { traffic?: { revisionName?: string; weight: number }[] } } };
  };
}

const fast = {
  analysis: { interval: '2s', minSamples: 10, probeRequests: 20 },
  scaleDownDelay: '1s',
  rollbackWindow: '3s',
};
const twoBakes = [{ setWeight: 10, bake: '4s' }, { setWeight: 50, bake: '4s' }, { setWeight: 100 }];

describe('canaryPromotion against the sandbox', () => {
  let sandbox: Sandbox;
  const input = (tag: string, over: Record<string, unknown> = {}) =>
    JSON.stringify({ app, image: `${registry}:${tag}`, steps: twoBakes, ...fast, ...over });

  async function mutations(since = 0): Promise<Mutation[]> {
    return (await admin<{ mutations: Mutation[] }>(sandbox, `/mutations?since=${since}`)).mutations;
  }
  async function count(): Promise<number> {
    return (await admin<{ count: number }>(sandbox, '/mutations/count')).count;
  }
  /** Traffic weights as the emulator received them, in order. */
  function trafficWrites(ms: Mutation[]): string[] {
    return ms
      .filter((m) => m.method === 'PATCH' && m.status < 300)
      .map((m) => m.body?.properties?.configuration?.ingress?.traffic)
      .filter((t): t is { revisionName?: string; weight: number }[] => !!t)
      .map((t) => t.map((x) => `${x.revisionName}=${x.weight}`).join(','));
  }
  async function serving(): Promise<{ name: string; weight: number; active: boolean }[]> {
    const azure = createAzureClients(sandbox.config);
    const out = [];
    for await (const r of azure.containerApps.containerAppsRevisions.listRevisions(
      sandbox.endpoints.resourceGroup,
      app,
    )) {
      out.push({ name: r.name ?? '', weight: r.trafficWeight ?? 0, active: r.active ?? false });
    }
    return out.filter((r) => r.active);
  }
  async function stableName(): Promise<string> {
    const s = await serving();
    const full = s.find((r) => r.weight === 100);
    assert.ok(full, `one revision at 100%: ${JSON.stringify(s)}`);
    return full.name;
  }
  async function status(id: string): Promise<RunbookStatus> {
    const client = await connectClient(sandbox.config);
    try {
      return await client.workflow.getHandle(id).query<RunbookStatus>('status');
    } finally {
      await client.connection.close();
    }
  }
  async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn().catch(() => undefined);
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  const result = (stdout: string) =>
    jsonLines(stdout).find((l) => l.event === 'result' || l.event === 'outcome') as {
      event: string;
      ok: boolean;
      outcome?: string;
      result?: CanaryResult;
    };

  before(async () => {
    sandbox = await testSandbox();
  });
  after(async () => {
    await sandbox?.close();
  });

  test('healthy image → promoted with weights 10/90, 50/50, 100/0, then the old revision is scaled down', async () => {
    const stable = await stableName();
    const since = await count();
    const run = await runbookCli(
      ['start', 'canaryPromotion', '--input', input('2.0.0'), '--wait', '--json'],
      sandbox.env,
    );
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.equal(result(run.stdout).outcome, 'promoted');
    const canary = (await serving()).find((r) => r.weight === 100)!.name;
    assert.match(canary, /^fluentedge-backend--v2-0-0-[a-z0-9]{5}$/);
    const deactivated = await waitFor('old revision deactivated', async () => {
      const ms = await mutations(since);
      return ms.find((m) => m.method === 'POST' && m.path.endsWith(`/revisions/${stable}/deactivate`))
        ? ms
        : undefined;
    });
    assert.deepEqual(trafficWrites(deactivated), [
      `${canary}=10,${stable}=90`,
      `${canary}=50,${stable}=50`,
      `${canary}=100`,
    ]);
    assert.deepEqual(
      (await serving()).map((r) => [r.name, r.weight]),
      [[canary, 100]],
    );
    // The promoted spec is recorded for fullOutageRecovery, without secret values.
    const client = await connectClient(sandbox.config);
    try {
      const spec = await client.workflow
        .getHandle('spec-registry')
        .query<{ image?: string; spec: unknown } | null, [string]>(
          'get',
          `${sandbox.endpoints.resourceGroup}/${app}`,
        );
      assert.equal(spec?.image, `${registry}:2.0.0`);
      assert.doesNotMatch(JSON.stringify(spec), /postgres:\/\//);
    } finally {
      await client.connection.close();
    }
  });

  test('faulty image (20% 5xx) → rolled back automatically, 100% stable, exit 1', async () => {
    const stable = await stableName();
    const run = await runbookCli(
      ['start', 'canaryPromotion', '--input', input('2.1.0-faulty'), '--wait', '--json'],
      sandbox.env,
    );
    assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`);
    const r = result(run.stdout).result!;
    assert.equal(r.outcome, 'rolled-back');
    assert.match(r.reason, /2 consecutive failed analyses/);
    assert.ok(r.analysis.every((a) => a.verdict === 'fail'));
    assert.ok((r.analysis[0]?.checks[0]?.value ?? 0) > 0.01, 'the 5xx ratio is in the result');
    assert.deepEqual(
      (await serving()).map((x) => [x.name, x.weight]),
      [[stable, 100]],
    );
  });

  test('slow image (+4 s) → rolled back on P95', async () => {
    const stable = await stableName();
    const run = await runbookCli(
      [
        'start',
        'canaryPromotion',
        '--input',
        input('2.2.0-slow', { analysis: { interval: '2s', minSamples: 5, probeRequests: 5 } }),
        '--wait',
        '--json',
      ],
      sandbox.env,
    );
    assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`);
    const r = result(run.stdout).result!;
    assert.match(r.reason, /P95 \d+ ms \(limit < 3000 ms\)/);
    assert.ok((r.analysis.at(-1)?.canary.p95Ms ?? 0) >= 3000);
    assert.equal(await stableName(), stable);
  });

  test('approval gate: refused approvers are recorded, a valid approval continues to promotion', async () => {
    const id = 'canary-gate-approve';
    const started = await runbookCli(
      [
        'start',
        'canaryPromotion',
        '--id',
        id,
        '--input',
        input('3.0.0', {
          steps: [{ setWeight: 10, approval: true }, { setWeight: 100 }],
          approvals: { allow: ['alice', 'ci-bot'], expiry: '2m' },
          initiator: 'ci-bot',
        }),
      ],
      sandbox.env,
    );
    assert.equal(started.code, 0, started.stderr);
    await waitFor('gate open', async () =>
      (await status(id)).pendingGate?.gate === 'step-1' ? true : undefined,
    );
    const self = await runbookCli(['approve', id, '--gate', 'step-1', '--as', 'ci-bot'], sandbox.env);
    assert.equal(self.code, 1);
    assert.match(self.stdout, /refused: ci-bot started this run and cannot approve it/);
    const stranger = await runbookCli(['approve', id, '--gate', 'step-1', '--as', 'mallory'], sandbox.env);
    assert.equal(stranger.code, 1);
    assert.match(stranger.stdout, /refused: mallory is not on the allow-list/);
    const malformed = await runbookCli(['signal', id, 'approve', '--input', '{"gate":5}'], sandbox.env);
    assert.equal(malformed.code, 0);
    const ok = await runbookCli(
      ['approve', id, '--gate', 'step-1', '--as', 'alice', '--comment', 'metrics look fine'],
      sandbox.env,
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /accepted: approved by alice/);
    const followed = await runbookCli(
      ['start', 'canaryPromotion', '--id', id, '--input', input('3.0.0'), '--wait', '--json'],
      sandbox.env,
    );
    assert.equal(followed.code, 0, followed.stderr);
    const history = (await status(id)).history;
    const refused = history.filter((h) => h.event === 'refused').map((h) => h.detail);
    assert.equal(refused.length, 3, JSON.stringify(history));
    assert.match(refused[2]!, /malformed payload: gate: expected the gate name.*approver/);
    assert.ok(
      history.some(
        (h) => h.event === 'approve' && h.by === 'alice' && /metrics look fine/.test(h.detail ?? ''),
      ),
    );
  });

  test('reject → rollback; expiry → the safe default (rollback)', async () => {
    const stable = await stableName();
    const reject = 'canary-gate-reject';
    await runbookCli(
      [
        'start',
        'canaryPromotion',
        '--id',
        reject,
        '--input',
        input('3.1.0', { steps: [{ setWeight: 10, approval: true }, { setWeight: 100 }] }),
      ],
      sandbox.env,
    );
    await waitFor('gate open', async () => ((await status(reject)).pendingGate ? true : undefined));
    const no = await runbookCli(
      ['reject', reject, '--gate', 'step-1', '--as', 'bob', '--comment', 'not today'],
      sandbox.env,
    );
    assert.equal(no.code, 0, no.stderr);
    const rejected = await runbookCli(['status', reject, '--watch', '--json'], sandbox.env);
    const s = jsonLines(rejected.stdout).at(-1) as { status: RunbookStatus };
    assert.equal(s.status.outcome, 'rolled-back');
    assert.match(s.status.summary, /gate step-1 rejected/);

    const expire = await runbookCli(
      [
        'start',
        'canaryPromotion',
        '--id',
        'canary-gate-expire',
        '--input',
        input('3.2.0', {
          steps: [{ setWeight: 10, approval: true }, { setWeight: 100 }],
          approvals: { expiry: '2s' },
        }),
        '--wait',
        '--json',
      ],
      sandbox.env,
    );
    assert.equal(expire.code, 1);
    assert.match(result(expire.stdout).result!.reason, /gate step-1 expired/);
    assert.equal(await stableName(), stable);
  });

  test('abort mid-bake → 100% stable, canary deactivated, reason recorded', async () => {
    const stable = await stableName();
    const id = 'canary-abort';
    await runbookCli(
      [
        'start',
        'canaryPromotion',
        '--id',
        id,
        '--input',
        input('4.0.0', { steps: [{ setWeight: 10, bake: '5m' }, { setWeight: 100 }] }),
      ],
      sandbox.env,
    );
    await waitFor(
      'bake at 10%',
      async () =>
        ((await status(id)).details?.weights as Record<string, number>)?.[stable] === 90 || undefined,
    );
    const abort = await runbookCli(
      ['signal', id, 'abort', '--input', '{"by":"oncall","reason":"customer reports errors"}'],
      sandbox.env,
    );
    assert.equal(abort.code, 0);
    const done = await runbookCli(
      ['start', 'canaryPromotion', '--id', id, '--input', input('4.0.0'), '--wait', '--json'],
      sandbox.env,
    );
    assert.equal(done.code, 1);
    assert.equal(result(done.stdout).result!.outcome, 'aborted');
    assert.equal(result(done.stdout).result!.reason, 'customer reports errors');
    assert.deepEqual(
      (await serving()).map((r) => [r.name, r.weight]),
      [[stable, 100]],
    );
  });

  test('rollback after promotion within the window; refused after it', async () => {
    const stable = await stableName();
    const id = 'canary-rollback-window';
    const run = await runbookCli(
      [
        'start',
        'canaryPromotion',
        '--id',
        id,
        '--input',
        input('5.0.0', { steps: [{ setWeight: 100 }], rollbackWindow: '30s', scaleDownDelay: '1s' }),
        '--wait',
      ],
      sandbox.env,
    );
    assert.equal(run.code, 0, run.stderr);
    // Wait until the old revision is scaled down, so rollback must re-activate it.
    await waitFor('scale down', async () =>
      (await status(id)).history.some((h) => h.event === 'scaled-down') ? true : undefined,
    );
    const back = await runbookCli(
      ['signal', id, 'rollback', '--input', '{"by":"oncall","reason":"latency regression"}'],
      sandbox.env,
    );
    assert.equal(back.code, 0);
    const client = await connectClient(sandbox.config);
    try {
      const r = (await client.workflow.getHandle(id).result()) as CanaryResult;
      assert.equal(r.outcome, 'rolled-back');
      assert.equal(r.rolledBackAfterPromotion, true);
    } finally {
      await client.connection.close();
    }
    assert.deepEqual(
      (await serving()).map((r) => [r.name, r.weight]),
      [[stable, 100]],
    );

    const late = 'canary-rollback-late';
    const promoted = await runbookCli(
      [
        'start',
        'canaryPromotion',
        '--id',
        late,
        '--input',
        input('5.1.0', { steps: [{ setWeight: 100 }], rollbackWindow: '1s', scaleDownDelay: '1s' }),
      ],
      sandbox.env,
    );
    assert.equal(promoted.code, 0);
    const c2 = await connectClient(sandbox.config);
    try {
      await c2.workflow.getHandle(late).result();
    } finally {
      await c2.connection.close();
    }
    const refused = await runbookCli(['signal', late, 'rollback'], sandbox.env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /already completed/i);
  });

  test('worker SIGKILLed mid-bake and restarted → the same workflow finishes with one new revision', async () => {
    const id = 'canary-worker-crash';
    const before = (await serving()).length;
    const revisionsBefore = await countRevisions();
    await runbookCli(
      [
        'start',
        'canaryPromotion',
        '--id',
        id,
        '--input',
        input('6.0.0', { steps: [{ setWeight: 10, bake: '8s' }, { setWeight: 100 }] }),
      ],
      sandbox.env,
    );
    await waitFor('baking', async () =>
      (await status(id)).history.some((h) => h.event === 'traffic') ? true : undefined,
    );
    sandbox.worker!.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 2000));
    await sandbox.startWorker();
    const done = await runbookCli(
      ['start', 'canaryPromotion', '--id', id, '--input', input('6.0.0'), '--wait', '--json'],
      sandbox.env,
    );
    assert.equal(done.code, 0, done.stdout);
    assert.equal(await countRevisions(), revisionsBefore + 1);
    // Let the rollback window close so its scale-down does not land in the next test.
    const client = await connectClient(sandbox.config);
    try {
      assert.equal(((await client.workflow.getHandle(id).result()) as CanaryResult).outcome, 'promoted');
    } finally {
      await client.connection.close();
    }
    assert.equal(before, 1);

    async function countRevisions(): Promise<number> {
      const azure = createAzureClients(sandbox.config);
      let n = 0;
      for await (const _ of azure.containerApps.containerAppsRevisions.listRevisions(
        sandbox.endpoints.resourceGroup,
        app,
      ))
        n++;
      return n;
    }
  });

  test('per-app lock: a second canary fails fast (lock=fail) or waits its turn (lock=wait)', async () => {
    const a = 'canary-lock-a';
    await runbookCli(
      [
        'start',
        'canaryPromotion',
        '--id',
        a,
        '--input',
        input('7.0.0', { steps: [{ setWeight: 10, bake: '5m' }, { setWeight: 100 }] }),
      ],
      sandbox.env,
    );
    await waitFor('A at 10%', async () =>
      (await status(a)).history.some((h) => h.event === 'traffic') ? true : undefined,
    );
    const b = await runbookCli(
      [
        'start',
        'canaryPromotion',
        '--id',
        'canary-lock-b',
        '--input',
        input('7.1.0', { lock: 'fail' }),
        '--wait',
        '--json',
      ],
      sandbox.env,
    );
    assert.equal(b.code, 1);
    assert.match(b.stdout, /is locked by canary-lock-a/);
    const c = 'canary-lock-c';
    await runbookCli(
      [
        'start',
        'canaryPromotion',
        '--id',
        c,
        '--input',
        input('7.2.0', { steps: [{ setWeight: 100 }], rollbackWindow: '1s', scaleDownDelay: '1s' }),
      ],
      sandbox.env,
    );
    await waitFor('C waiting', async () =>
      (await status(c)).history.some((h) => h.event === 'waiting') ? true : undefined,
    );
    assert.ok(!(await status(c)).history.some((h) => h.event === 'snapshot'), 'C has not touched the app');
    await runbookCli(['signal', a, 'abort', '--input', '{"by":"test","reason":"make room"}'], sandbox.env);
    const done = await runbookCli(
      ['start', 'canaryPromotion', '--id', c, '--input', input('7.2.0'), '--wait', '--json'],
      sandbox.env,
    );
    assert.equal(done.code, 0, done.stdout);
    const client = await connectClient(sandbox.config);
    try {
      assert.equal(((await client.workflow.getHandle(a).result()) as CanaryResult).outcome, 'aborted');
      assert.equal(((await client.workflow.getHandle(c).result()) as CanaryResult).outcome, 'promoted');
    } finally {
      await client.connection.close();
    }
  });

  test('same image as stable → unchanged, nothing mutated', async () => {
    const stableImage = await (async () => {
      const azure = createAzureClients(sandbox.config);
      const rev = await azure.containerApps.containerAppsRevisions.getRevision(
        sandbox.endpoints.resourceGroup,
        app,
        await stableName(),
      );
      return rev.template?.containers?.[0]?.image ?? '';
    })();
    const before = await count();
    const run = await runbookCli(
      [
        'start',
        'canaryPromotion',
        '--id',
        'canary-unchanged',
        '--input',
        JSON.stringify({ app, image: stableImage }),
        '--wait',
        '--json',
      ],
      sandbox.env,
    );
    assert.equal(run.code, 0, run.stdout);
    assert.equal(result(run.stdout).result?.outcome, 'unchanged');
    assert.equal(await count(), before);
    for (const kind of ['canary', 'canaryPromotion']) {
      const list = await runbookCli(['list', '--kind', kind, '--json', '--limit', '100'], sandbox.env);
      const rows = JSON.parse(list.stdout) as { workflowId: string; outcome: string }[];
      assert.equal(rows.find((r) => r.workflowId === 'canary-unchanged')?.outcome, 'unchanged');
      assert.ok(!rows.some((r) => r.workflowId.startsWith('lock-')), 'lock workflows are not canaries');
    }
  });

  test('bad inputs are rejected with field-level messages and zero mutations (CLI and direct start)', async () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ image: undefined }, /image: expected an image reference/],
      [{ image: 'backend' }, /image: expected an image reference with a tag/],
      [{ app: 'Backend!' }, /app: expected a container app name/],
      [
        { steps: [{ setWeight: 50 }, { setWeight: 10 }, { setWeight: 100 }] },
        /steps\.1\.setWeight: weights must increase/,
      ],
      [{ steps: [{ setWeight: 10 }] }, /steps\.0\.setWeight: the last step must set weight 100/],
      [{ steps: [{ setWeight: 101 }] }, /steps\.0\.setWeight/],
      [{ steps: [{ setWeight: 100, hold: true }] }, /steps\.0\.hold: unknown field/],
      [
        { steps: [{ setWeight: 10, bake: 'soon' }, { setWeight: 100 }] },
        /steps\.0\.bake: expected a duration/,
      ],
      [{ analysis: { provider: 'datadog' } }, /analysis\.provider: expected probe or prometheus/],
      [{ analysis: { failureLimit: 0 } }, /analysis\.failureLimit/],
      [{ approvals: { onExpiry: 'promote' } }, /approvals\.onExpiry: expected rollback or hold/],
      [{ rollbackWindow: '30d' }, /rollbackWindow: expected a duration between/],
      [{ enviroment: 'production' }, /enviroment: unknown field/],
    ];
    const before = await count();
    const client = await connectClient(sandbox.config);
    try {
      for (const [i, [over, message]] of bad.entries()) {
        const raw = { app, image: `${registry}:9.9.9`, ...over };
        const cli = await runbookCli(
          ['start', 'canaryPromotion', '--input', JSON.stringify(raw)],
          sandbox.env,
        );
        assert.equal(cli.code, 2, JSON.stringify(over));
        assert.match(cli.stderr, message);
        // The UI path: the workflow validates the same input as its first step.
        const handle = await client.workflow.start('canaryPromotion', {
          taskQueue: sandbox.config.temporal.taskQueue,
          workflowId: `canary-bad-input-${i}`,
          args: [raw],
        });
        await assert.rejects(handle.result(), (err: unknown) => {
          assert.ok(err instanceof WorkflowFailedError);
          assert.match(err.cause?.message ?? '', message);
          return true;
        });
      }
    } finally {
      await client.connection.close();
    }
    assert.equal(await count(), before);
  });
});
