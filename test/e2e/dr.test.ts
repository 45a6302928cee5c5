import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAzureClients } from '../../src/activities/azure';
import { createTemporalActivities } from '../../src/activities/temporal';
import type { DrillResult, FullOutageResult } from '../../src/domain/restore';
import type { RunbookStatus } from '../../src/domain/status';
import { alembicRevision } from '../../src/sandbox/postgres/seed';
import type { Sandbox } from '../../src/sandbox/environment';
import { connectClient } from '../../src/starters/client';
import { deleteDrillSchedule, drillScheduleId, ensureDrillSchedule } from '../../src/starters/schedules';
import { admin, jsonLines, runbookCli, testSandbox } from '../helpers/sandbox';

// DR drills and full-outage recovery end to end against the sandbox: real Temporal, the worker
// process, the ARM emulator, real PostgreSQL and revision processes.

const app = 'fluentedge-backend';
const source = 'fluentedge-pg';

describe('drDrill and fullOutageRecovery against the sandbox', () => {
  let sandbox: Sandbox;
  const rg = () => sandbox.endpoints.resourceGroup;
  const azure = () => createAzureClients(sandbox.config);
  async function withTemporal<T>(
    fn: (c: Awaited<ReturnType<typeof connectClient>>) => Promise<T>,
  ): Promise<T> {
    const client = await connectClient(sandbox.config);
    try {
      return await fn(client);
    } finally {
      await client.connection.close();
    }
  }
  const run = <T>(type: string, id: string, input: unknown) =>
    withTemporal((c) =>
      c.workflow.execute(type, {
        taskQueue: sandbox.config.temporal.taskQueue,
        workflowId: id,
        args: [input],
      }),
    ) as Promise<T>;
  const ingressHealth = async () => {
    const res = await fetch(`${sandbox.endpoints.ingress[app]}/health`).catch(() => undefined);
    return res
      ? { status: res.status, body: (await res.json()) as { database: { status: string } } }
      : undefined;
  };

  before(async () => {
    sandbox = await testSandbox();
  });
  after(async () => {
    await sandbox?.close();
  });

  test('drDrill: scratch restore, verify, RTO/RPO, scratch deleted; the next drill shows the trend', async () => {
    const before = (await admin<{ count: number }>(sandbox, '/mutations/count')).count;
    const first = await run<DrillResult>('drDrill', 'drill-test-1', {
      sourceServer: source,
      verify: [{ name: 'seeded users', sql: 'SELECT count(*) FROM users', expect: { atLeast: 300 } }],
    });
    assert.equal(first.outcome, 'passed', first.reason);
    assert.ok(first.verification?.ok);
    assert.equal(first.recovery?.rto.met, true);
    assert.ok(
      first.recovery!.rpo.ms >= 0 && first.recovery!.rpo.ms < 60_000,
      `rpo ${first.recovery?.rpo.ms}`,
    );
    assert.equal(first.scratchDeleted, true);
    await assert.rejects(azure().postgres.servers.get(rg(), first.scratchServer), { statusCode: 404 });
    const ms = (
      await admin<{ mutations: { method: string; path: string }[] }>(sandbox, `/mutations?since=${before}`)
    ).mutations;
    assert.deepEqual(
      ms.map((m) => `${m.method} ${m.path.split('/').at(-1)}`),
      [`PUT ${first.scratchServer}`, `DELETE ${first.scratchServer}`],
      'a drill only creates and deletes its scratch server',
    );

    // Visibility is eventually consistent: wait until the first drill is listable.
    const list = async () => {
      const r = await runbookCli(['list', '--kind', 'drDrill', '--json'], sandbox.env);
      return (jsonLines(r.stdout)[0] as unknown as { workflowId: string; outcome: string }[]) ?? [];
    };
    for (let i = 0; i < 40 && !(await list()).some((w) => w.workflowId === 'drill-test-1' && w.outcome); i++)
      await new Promise((r) => setTimeout(r, 250));
    assert.ok((await list()).some((w) => w.workflowId === 'drill-test-1' && w.outcome === 'passed'));

    const second = await run<DrillResult>('drDrill', 'drill-test-2', { sourceServer: source });
    assert.equal(second.outcome, 'passed', second.reason);
    assert.deepEqual(
      second.trend?.map((t) => [t.workflowId, t.outcome, t.met]),
      [['drill-test-1', 'passed', true]],
    );
    const status = await runbookCli(['status', 'drill-test-2'], sandbox.env);
    assert.match(status.stdout, /1 of the last 1 drills met RTO\/RPO/);
  });

  test('the weekly drill schedule is created once and updated in place', async () => {
    await withTemporal(async (c) => {
      const tq = sandbox.config.temporal.taskQueue;
      assert.deepEqual(await ensureDrillSchedule(c, tq, { server: source }), {
        scheduleId: drillScheduleId(source),
        created: true,
      });
      const again = await ensureDrillSchedule(c, tq, { server: source, cron: '0 4 * * 0' });
      assert.equal(again.created, false);
      const d = await c.schedule.getHandle(drillScheduleId(source)).describe();
      assert.equal(d.action.type, 'startWorkflow');
      assert.equal(d.action.type === 'startWorkflow' && d.action.workflowType, 'drDrill');
      assert.equal(d.spec.calendars?.[0]?.dayOfWeek?.[0]?.start, 'SUNDAY');
      assert.equal(await deleteDrillSchedule(c, source), true);
    });
  });

  test('fullOutageRecovery: a stopped app is started and found healthy on the expected schema', async () => {
    await azure().containerApps.containerApps.beginStopAndWait(rg(), app, { updateIntervalInMs: 200 });
    assert.equal((await azure().containerApps.containerApps.get(rg(), app)).runningStatus, 'Stopped');
    assert.equal(await ingressHealth().then((h) => h?.status), 503, 'nothing serves behind the ingress');
    const r = await run<FullOutageResult>('fullOutageRecovery', 'outage-stopped', {
      app,
      database: { server: source },
      expectedSchemaRevision: alembicRevision,
      healthTimeout: '30s',
    });
    assert.equal(r.outcome, 'recovered', JSON.stringify(r.findings));
    assert.ok(
      r.findings.some((f) => f.step === '2' && /was Stopped/.test(f.found) && f.action === 'started'),
    );
    assert.deepEqual(r.schema, { expected: alembicRevision, actual: [alembicRevision], matches: true });
    assert.equal((await azure().containerApps.containerApps.get(rg(), app)).runningStatus, 'Running');
    assert.equal((await ingressHealth())?.body.database.status, 'ok');
  });

  test('fullOutageRecovery: a deleted app is redeployed from the last known-good spec', async () => {
    // What canaryPromotion does after a promotion: record the spec (no secret values).
    const acts = await withTemporal(async (c) => {
      const a = createTemporalActivities({
        client: c,
        taskQueue: sandbox.config.temporal.taskQueue,
        containerApps: azure().containerApps,
      });
      const spec = await a.recordKnownGoodSpec({ resourceGroup: rg(), app });
      assert.deepEqual(spec.spec.configuration.secrets, [{ name: 'database-url' }]);
      assert.ok(!JSON.stringify(spec).includes('postgres://'), 'no secret value in the registry');
      return a;
    });
    assert.ok(acts);
    await azure().containerApps.containerApps.beginDeleteAndWait(rg(), app, { updateIntervalInMs: 200 });
    await assert.rejects(azure().containerApps.containerApps.get(rg(), app), { statusCode: 404 });

    // Without a value for the inline secret the runbook refuses before touching anything.
    await assert.rejects(
      run('fullOutageRecovery', 'outage-deleted-nosecret', { app, database: { server: source } }),
      (err: Error) => /database-url/.test(String((err.cause as Error)?.message)),
    );
    const r = await run<FullOutageResult>('fullOutageRecovery', 'outage-deleted', {
      app,
      database: { server: source },
      expectedSchemaRevision: alembicRevision,
      secrets: { 'database-url': { databaseUrlFor: { server: source } } },
      healthTimeout: '60s',
    });
    assert.equal(r.outcome, 'recovered', JSON.stringify(r.findings));
    assert.ok(r.findings.some((f) => f.step === '3' && /redeployed/.test(f.action ?? '')));
    assert.equal(r.health?.ok, true);
    const back = await azure().containerApps.containerApps.get(rg(), app);
    assert.equal(back.runningStatus, 'Running');
    const h = await ingressHealth();
    assert.equal(h?.body.database.status, 'ok');
    const status = await withTemporal((c) =>
      c.workflow.getHandle('outage-deleted').query<RunbookStatus>('status'),
    );
    assert.equal(status.outcome, 'recovered');
  });
});
