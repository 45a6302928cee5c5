import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { Client as Pg } from 'pg';
import { createAzureClients } from '../../src/activities/azure';
import type { PointInTimeRestoreInput, RestoreResult } from '../../src/domain/restore';
import type { RunbookStatus } from '../../src/domain/status';
import type { Sandbox } from '../../src/sandbox/environment';
import { connectClient } from '../../src/starters/client';
import { admin, testSandbox } from '../helpers/sandbox';

// pointInTimeRestore end to end: Temporal → worker process → ARM emulator → real PostgreSQL
// point-in-time recovery → the sandbox app's DATABASE_URL secret and its revision processes.

const app = 'fluentedge-backend';
const source = 'fluentedge-pg';

describe('pointInTimeRestore against the sandbox', () => {
  let sandbox: Sandbox;
  let sourceUrl: string;
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
  const start = (id: string, input: PointInTimeRestoreInput) =>
    withTemporal(async (c) => {
      await c.workflow.start('pointInTimeRestore', {
        taskQueue: sandbox.config.temporal.taskQueue,
        workflowId: id,
        args: [input],
      });
    });
  const result = (id: string) =>
    withTemporal((c) => c.workflow.getHandle(id).result() as Promise<RestoreResult>);
  const status = (id: string) =>
    withTemporal((c) => c.workflow.getHandle(id).query<RunbookStatus>('status')).catch(() => undefined);
  async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn().catch(() => undefined);
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const approveCutover = (id: string) =>
    withTemporal((c) =>
      c.workflow.getHandle(id).executeUpdate('decide', {
        args: [{ gate: 'cutover', approver: 'alice', decision: 'approve', comment: 'rows look right' }],
      }),
    );
  const mutations = async () => (await admin<{ count: number }>(sandbox, '/mutations/count')).count;
  async function sql<T = Record<string, unknown>>(url: string, text: string): Promise<T[]> {
    const c = new Pg({ connectionString: url });
    await c.connect();
    try {
      return (await c.query(text)).rows as T[];
    } finally {
      await c.end();
    }
  }
  const urlFor = async (server: string) => {
    const s = await azure().postgres.servers.get(rg(), server);
    const u = new URL(sourceUrl);
    const [host, port] = s.fullyQualifiedDomainName!.split(':');
    u.hostname = host!;
    u.port = port!;
    return u.toString();
  };
  const appSecretHost = async () => {
    const secrets = await azure().containerApps.containerApps.listSecrets(rg(), app);
    const u = new URL(secrets.value?.find((s) => s.name === 'database-url')?.value ?? 'postgres://missing');
    return `${u.hostname}:${u.port}`;
  };
  const ingressHealth = async () => {
    const res = await fetch(`${sandbox.endpoints.ingress[app]}/health`);
    return (await res.json()) as { database: { status: string; server: string } };
  };
  const serverHost = async (server: string) =>
    (await azure().postgres.servers.get(rg(), server)).fullyQualifiedDomainName!;

  before(async () => {
    sandbox = await testSandbox();
    sourceUrl = (sandbox.endpoints['postgres'] as Record<string, { url: string }>)[source]!.url;
  });
  after(async () => {
    await sandbox?.close();
  });

  test('a restore point in the future, before the window, or an unknown server is refused before any mutation; dryRun plans', async () => {
    const before = await mutations();
    const cases: [string, PointInTimeRestoreInput, RegExp][] = [
      [
        'future',
        { sourceServer: source, restoreTo: new Date(Date.now() + 3_600_000).toISOString() },
        /in the future/,
      ],
      ['early', { sourceServer: source, restoreTo: '2020-01-01T00:00:00Z' }, /before the restore window/],
      ['unknown', { sourceServer: 'no-such-pg', restoreTo: 'latest' }, /not found/],
    ];
    for (const [name, input, message] of cases) {
      const id = `restore-refused-${name}`;
      await start(id, input);
      await assert.rejects(result(id), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.match(String((err.cause as Error).message), message);
        return true;
      });
      assert.equal((await status(id))?.outcome, 'rejected');
    }
    await start('restore-dry', {
      sourceServer: source,
      restoreTo: 'latest',
      apps: [{ app, databaseUrl: { secretRef: 'database-url' } }],
      dryRun: true,
    });
    const plan = await result('restore-dry');
    assert.equal(plan.outcome, 'planned');
    assert.match(plan.plan!.join('\n'), /secret database-url \+ restart/);
    assert.equal(await mutations(), before, 'no mutation at all');
  });

  test('a second restore of the same server fails fast (lock=fail) or waits its turn (lock=wait), mutating nothing meanwhile', async () => {
    const holder = 'restore-lock-holder';
    await start(holder, {
      sourceServer: source,
      restoreTo: 'latest',
      apps: [{ app, databaseUrl: { secretRef: 'database-url' } }],
      initiator: 'bob',
      approvals: { allow: ['alice'] },
    });
    await waitFor('holder at its cutover gate', async () =>
      (await status(holder))?.pendingGate?.gate === 'cutover' ? true : undefined,
    );
    const before = await mutations();
    await start('restore-lock-fail', { sourceServer: source, restoreTo: 'latest', lock: 'fail' });
    await assert.rejects(result('restore-lock-fail'), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.match(
        String((err.cause as Error).message),
        /postgres-\S+-fluentedge-pg is locked by restore-lock-holder/,
      );
      return true;
    });
    const waiter = 'restore-lock-wait';
    await start(waiter, { sourceServer: source, restoreTo: 'latest', lock: 'wait' });
    // Its preflight ran while it asked for the lock; it says it waits, and has not touched ARM.
    const waiting = await waitFor('waiter says it waits', async () => {
      const st = await status(waiter);
      return st?.history.some((h) => h.event === 'waiting') ? st : undefined;
    });
    assert.equal(waiting.step?.index, 1);
    assert.equal(await mutations(), before, 'neither the refused nor the waiting restore mutated anything');
    await withTemporal((c) =>
      c.workflow.getHandle(holder).executeUpdate('decide', {
        args: [{ gate: 'cutover', approver: 'alice', decision: 'reject', comment: 'wrong time' }],
      }),
    );
    assert.equal((await result(holder)).outcome, 'not-cut-over');
    const r = await result(waiter);
    assert.equal(r.outcome, 'restored', r.reason);
    assert.equal(await appSecretHost(), await serverHost(source), 'the rejected cutover left the app alone');
  });

  test('locks partly free: the source lock is granted at once, the app lock is queued behind its holder and granted when it lets go', async () => {
    // Someone else (a deploy, say) holds the app's lock through the signal protocol.
    const appLock = `lock-containerapp-${rg()}-${app}`;
    const token = 'deploy-token';
    await withTemporal((c) =>
      c.workflow.signalWithStart('resourceLock', {
        workflowId: appLock,
        taskQueue: sandbox.config.temporal.taskQueue,
        args: [`containerapp-${rg()}-${app}`],
        signal: 'acquire',
        signalArgs: [{ requester: 'deploy-in-progress', token, mode: 'wait' }],
      }),
    );
    const before = await mutations();
    const id = 'restore-lock-partial';
    await start(id, {
      sourceServer: source,
      restoreTo: 'latest',
      apps: [{ app, databaseUrl: { secretRef: 'database-url' } }],
      initiator: 'bob',
      approvals: { allow: ['alice'] },
    });
    const waiting = await waitFor('restore says it waits for the app lock', async () => {
      const st = await status(id);
      return st?.history.some((h) => h.event === 'waiting') ? st : undefined;
    });
    assert.match(
      waiting.history.find((h) => h.event === 'waiting')!.detail ?? '',
      new RegExp(`containerapp-${rg()}-${app}`),
    );
    assert.equal(await mutations(), before, 'nothing restored while a lock is missing');
    // The source lock is already this restore's: another restore of the source is refused.
    await start('restore-lock-partial-2', { sourceServer: source, restoreTo: 'latest', lock: 'fail' });
    await assert.rejects(result('restore-lock-partial-2'), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.match(String((err.cause as Error).message), new RegExp(`is locked by ${id}`));
      return true;
    });
    await withTemporal((c) => c.workflow.getHandle(appLock).signal('release', { token }));
    await waitFor('cutover gate once both locks are held', async () =>
      (await status(id))?.pendingGate?.gate === 'cutover' ? true : undefined,
    );
    await withTemporal((c) =>
      c.workflow.getHandle(id).executeUpdate('decide', {
        args: [{ gate: 'cutover', approver: 'alice', decision: 'reject', comment: 'lock test' }],
      }),
    );
    assert.equal((await result(id)).outcome, 'not-cut-over');
  });

  test('health failure after cutover (restored server stopped) → the old connection is put back', async () => {
    const sourceHost = await serverHost(source);
    const id = 'restore-revert';
    await start(id, {
      sourceServer: source,
      restoreTo: 'latest',
      apps: [{ app, databaseUrl: { secretRef: 'database-url' } }],
      healthTimeout: '8s',
      initiator: 'bob',
    });
    await waitFor('cutover gate', async () =>
      (await status(id))?.pendingGate?.gate === 'cutover' ? true : undefined,
    );
    const target = (await status(id))?.details?.['targetServer'] as string;
    assert.ok(target);
    // The fault: the restored server refuses connections once the apps are switched to it.
    await azure().postgres.servers.beginStopAndWait(rg(), target, { updateIntervalInMs: 200 });
    const answer = await approveCutover(id);
    assert.equal((answer as { accepted: boolean }).accepted, true);
    const r = await result(id);
    assert.equal(r.outcome, 'reverted', r.reason);
    assert.match(r.reason, /not healthy on/);
    assert.equal(r.apps[0]?.reverted, true);
    assert.equal(r.apps[0]?.healthy, false);
    assert.equal(await appSecretHost(), sourceHost, 'the secret points at the source again');
    const h = await ingressHealth();
    assert.equal(h.database.status, 'ok');
    assert.equal(h.database.server, `${sourceHost}/fluentedge`);
    assert.equal((await status(id))?.phase, 'rolled-back');
  });

  test('restore to T has exactly the rows committed before T; the app runs on the restored server after cutover', async () => {
    await sql(sourceUrl, 'CREATE TABLE ledger (id int PRIMARY KEY, note text)');
    await sql(sourceUrl, "INSERT INTO ledger SELECT g, 'before' FROM generate_series(1, 50) g");
    const [{ t }] = (await sql<{ t: Date }>(sourceUrl, "SELECT now() + interval '1 millisecond' AS t")) as [
      { t: Date },
    ];
    await new Promise((r) => setTimeout(r, 50));
    await sql(sourceUrl, "INSERT INTO ledger SELECT g, 'after' FROM generate_series(51, 80) g");
    await sql(sourceUrl, 'DROP TABLE ledger');
    const id = 'restore-main';
    await start(id, {
      sourceServer: source,
      restoreTo: t.toISOString(),
      incidentAt: new Date(t.getTime() + 1000).toISOString(),
      apps: [{ app, databaseUrl: { secretRef: 'database-url' } }],
      verify: [
        { name: 'ledger rows', sql: 'SELECT count(*) FROM ledger', expect: 50 },
        { name: 'no late rows', sql: "SELECT count(*) FROM ledger WHERE note = 'after'", expect: 0 },
      ],
      initiator: 'bob',
      approvals: { allow: ['alice'] },
    });
    await waitFor('cutover gate', async () =>
      (await status(id))?.pendingGate?.gate === 'cutover' ? true : undefined,
    );
    const gate = (await status(id))?.pendingGate;
    assert.ok(gate);
    assert.match(gate.prompt, /all \d+ checks passed/);
    const self = await withTemporal((c) =>
      c.workflow.getHandle(id).executeUpdate('decide', {
        args: [{ gate: 'cutover', approver: 'bob', decision: 'approve' }],
      }),
    );
    assert.equal((self as { accepted: boolean }).accepted, false);
    await approveCutover(id);
    const r = await result(id);
    assert.equal(r.outcome, 'restored', r.reason);
    assert.ok(r.verification?.ok);
    const restoredHost = await serverHost(r.targetServer);
    assert.notEqual(restoredHost, await serverHost(source));
    const restoredUrl = await urlFor(r.targetServer);
    assert.deepEqual(
      await sql<{ note: string; n: number }>(
        restoredUrl,
        'SELECT note, count(*)::int AS n FROM ledger GROUP BY note',
      ),
      [{ note: 'before', n: 50 }],
    );
    assert.equal(await appSecretHost(), restoredHost);
    const h = await ingressHealth();
    assert.equal(h.database.status, 'ok');
    assert.equal(h.database.server, `${restoredHost}/fluentedge`);
    assert.equal(r.recovery?.environment, 'sandbox');
    assert.equal(r.recovery?.rto.met, true);
    assert.equal(r.recovery?.rpo.ms, 1000);
    assert.match(r.recovery!.summary, /RTO \S+ \(target 4h: met\), RPO 1s \(target 24h: met\)/);
    // No connection string in the workflow's history.
    const history = await withTemporal((c) => c.workflow.getHandle(id).fetchHistory());
    // Every payload decoded (protobuf's toJSON would base64 them), plus every string field.
    const parts: string[] = [];
    const walk = (v: unknown, depth = 0): void => {
      if (depth > 40 || v === null || v === undefined) return;
      if (v instanceof Uint8Array) parts.push(Buffer.from(v).toString());
      else if (typeof v === 'string') parts.push(v);
      else if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
      else if (typeof v === 'object') for (const x of Object.values(v)) walk(x, depth + 1);
    };
    walk(history);
    const text = parts.join('\n');
    const password = decodeURIComponent(new URL(sourceUrl).password);
    assert.ok(text.includes('cutover'), 'history decoded');
    assert.ok(!text.includes(password), 'the admin password is not in the history');
    assert.ok(!text.includes('postgres://'), 'no connection string in the history');
  });

  test('worker killed during the restore → exactly one restored server', async () => {
    const id = 'restore-kill';
    const before = await mutations();
    await start(id, { sourceServer: source, restoreTo: 'latest' });
    await waitFor('restore step', async () => ((await status(id))?.step?.index === 2 ? true : undefined));
    sandbox.worker!.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    await sandbox.startWorker();
    const r = await result(id);
    assert.equal(r.outcome, 'restored', r.reason);
    const names: string[] = [];
    for await (const s of azure().postgres.servers.listByResourceGroup(rg())) names.push(s.name!);
    assert.equal(names.filter((n) => n === r.targetServer).length, 1);
    const puts = (
      await admin<{ mutations: { method: string; path: string; status: number }[] }>(
        sandbox,
        `/mutations?since=${before}`,
      )
    ).mutations.filter((m) => m.method === 'PUT' && m.path.toLowerCase().includes('/flexibleservers/'));
    assert.deepEqual(
      puts.map((m) => m.path.split('/').at(-1)),
      [r.targetServer],
      'one PUT: the retry found the server it had started',
    );
  });
});
