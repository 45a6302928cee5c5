import { Client as Pg } from 'pg';
import { createAzureClients } from '../src/activities/azure';
import type { RestoreResult } from '../src/domain/restore';
import { createServersBackend } from '../src/sandbox/postgres/servers';
import { connectClient } from '../src/starters/client';
import { benchSandbox, machine, median, numberFlag, run, seconds, table, writeResult } from './lib';

// pointInTimeRestore wall time vs the raw restore by hand (the ServersBackend's copy + recovery
// + start, called directly) on the same few-hundred-MB database, same base backup, same target
// time; and the RPO achieved for data committed before the target.
//
//   npx tsx bench/restore.ts [--rows 1000000] [--runs 3]

interface Tick {
  id: number;
  ackedAt: number;
  sentAt: number;
}

run(async (cleanup) => {
  const rows = numberFlag('rows', 1_000_000);
  const runs = numberFlag('runs', 3);
  const sandbox = await benchSandbox();
  cleanup(() => sandbox.dispose());
  const source = 'fluentedge-pg';
  const rg = sandbox.endpoints.resourceGroup;
  const url = (sandbox.endpoints['postgres'] as Record<string, { url: string }>)[source]!.url;
  const password = decodeURIComponent(new URL(url).password);
  const user = decodeURIComponent(new URL(url).username);
  // A second backend on the same clusters: the "by hand" path, no ARM, no Temporal.
  const raw = createServersBackend({
    dataDir: sandbox.endpoints.dataDir as string,
    backupIntervalMs: 0,
    portRange: [17600, 17699],
    log: () => undefined,
  });
  cleanup(() => raw.close());

  const pg = new Pg({ connectionString: url });
  await pg.connect();
  const t0 = Date.now();
  await pg.query(
    `CREATE TABLE bulk AS SELECT g AS id, repeat(md5(g::text), 8) AS pad FROM generate_series(1, ${rows}) g`,
  );
  const size = Number(
    (await pg.query<{ s: string }>("SELECT pg_database_size('fluentedge') AS s")).rows[0]!.s,
  );
  process.stderr.write(
    `loaded ${rows} rows, database ${(size / 2 ** 20).toFixed(0)} MiB in ${seconds(Date.now() - t0)} s\n`,
  );
  const backup = await raw.backup(source);
  process.stderr.write(`base backup ${backup.name} (${(backup.sizeBytes / 2 ** 20).toFixed(0)} MiB)\n`);

  // Committed writes around the target: ackedAt = when COMMIT returned (the commit happened before).
  await pg.query('CREATE TABLE ticks (id int PRIMARY KEY)');
  const ticks: Tick[] = [];
  const writeFor = async (ms: number) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const id = ticks.length + 1;
      const sentAt = Date.now();
      await pg.query('INSERT INTO ticks VALUES ($1)', [id]);
      ticks.push({ id, sentAt, ackedAt: Date.now() });
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  await writeFor(1500);
  const target = new Date(Date.now());
  await writeFor(1500);
  await pg.end();
  const before = ticks.filter((t) => t.ackedAt < target.getTime()).map((t) => t.id);
  const after = ticks.filter((t) => t.sentAt > target.getTime()).map((t) => t.id);

  const check = async (port: number) => {
    const c = new Pg({ host: '127.0.0.1', port, user, password, database: 'fluentedge' });
    await c.connect();
    try {
      const ids = new Set((await c.query<{ id: number }>('SELECT id FROM ticks')).rows.map((r) => r.id));
      const n = Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM bulk')).rows[0]!.n);
      return {
        committedBeforePresent: before.filter((id) => ids.has(id)).length,
        afterPresent: after.filter((id) => ids.has(id)).length,
        bulkRows: n,
      };
    } finally {
      await c.end();
    }
  };

  const azure = createAzureClients(sandbox.config);
  const client = await connectClient(sandbox.config);
  cleanup(() => client.connection.close());
  const results: {
    kind: string;
    ms: number;
    committedBeforePresent: number;
    afterPresent: number;
    bulkRows: number;
    phases?: Record<string, number>;
  }[] = [];
  for (let i = 0; i < runs; i++) {
    // By hand: copy + recovery + start through the backend.
    const name = `bench-raw-${i}`;
    let t = performance.now();
    const s = await raw.restore(name, source, target);
    const rawMs = performance.now() - t;
    results.push({ kind: 'raw', ms: rawMs, ...(await check(s.port)) });
    await raw.delete(name);

    // The runbook: Temporal → worker → ARM PUT (PointInTimeRestore LRO) → same backend → verify.
    t = performance.now();
    const r = (await client.workflow.execute('pointInTimeRestore', {
      taskQueue: sandbox.config.temporal.taskQueue,
      workflowId: `bench-restore-${i}`,
      args: [{ sourceServer: source, restoreTo: target.toISOString(), expectTables: ['bulk', 'ticks'] }],
    })) as RestoreResult;
    const rbMs = performance.now() - t;
    if (r.outcome !== 'restored') throw new Error(`runbook: ${r.outcome}: ${r.reason}`);
    const fqdn = (await azure.postgres.servers.get(rg, r.targetServer)).fullyQualifiedDomainName!;
    results.push({
      kind: 'runbook',
      ms: rbMs,
      phases: r.timings,
      ...(await check(Number(fqdn.split(':')[1]))),
    });
    await azure.postgres.servers.beginDeleteAndWait(rg, r.targetServer, { updateIntervalInMs: 250 });
    process.stderr.write(
      `run ${i + 1}/${runs}: raw ${seconds(rawMs)} s, runbook ${seconds(rbMs)} s (phases ${JSON.stringify(r.timings)})\n`,
    );
  }
  const rawMed = median(results.filter((x) => x.kind === 'raw').map((x) => x.ms));
  const rbMed = median(results.filter((x) => x.kind === 'runbook').map((x) => x.ms));
  const ratio = rbMed / rawMed;
  const rpoZero = results.every((x) => x.committedBeforePresent === before.length && x.afterPresent === 0);
  console.log(
    table(
      ['restore', 'median s', 'runs (s)', 'committed-before-T present', 'after-T present'],
      ['raw', 'runbook'].map((k) => {
        const xs = results.filter((x) => x.kind === k);
        return [
          k,
          seconds(median(xs.map((x) => x.ms))),
          xs.map((x) => seconds(x.ms)).join(', '),
          `${Math.min(...xs.map((x) => x.committedBeforePresent))}/${before.length}`,
          Math.max(...xs.map((x) => x.afterPresent)),
        ];
      }),
    ),
  );
  console.log(
    `database ${(size / 2 ** 20).toFixed(0)} MiB; runbook/raw = ${ratio.toFixed(3)} (target ≤ 1.15); RPO for committed data before T: ${rpoZero ? '0 s' : 'NOT 0'}`,
  );
  const file = writeResult('restore', {
    rows,
    databaseBytes: size,
    backupBytes: backup.sizeBytes,
    target: target.toISOString(),
    ticksBefore: before.length,
    ticksAfter: after.length,
    results,
    medianMs: { raw: rawMed, runbook: rbMed },
    ratio,
    rpoZero,
    machine: machine(),
  });
  process.stderr.write(`wrote ${file}\n`);
  return ratio <= 1.15 && rpoZero ? 0 : 1;
});
