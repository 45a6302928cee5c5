// Real PostgreSQL clusters behind the flexible-server emulator: create/seed, stop/start, timer
// backups, adoption by a new backend instance, point-in-time restore, delete.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type ConnInfo,
  connect,
  defaultBinDir,
  pgStart,
  pgStop,
  postmaster,
  resolveOsUser,
  sleep,
} from '../../src/sandbox/postgres/cluster';
import { seedCounts } from '../../src/sandbox/postgres/seed';
import {
  BackendError,
  createServersBackend,
  type PostgresServersBackend,
} from '../../src/sandbox/postgres/servers';

// Far from the sandbox's 6432-6531 so a running sandbox cannot collide with the test.
const portRange: [number, number] = [17400, 17449];
const login = 'feadmin';
const password = 'Sandbox-Pa55!';
const spec = {
  name: 'pg-main',
  administratorLogin: login,
  administratorLoginPassword: password,
  version: '17',
};

let dataDir: string;
const backends: PostgresServersBackend[] = [];

function backend(backupIntervalMs = 0): PostgresServersBackend {
  const b = createServersBackend({ dataDir, portRange, backupIntervalMs, log: () => undefined });
  backends.push(b);
  return b;
}

function info(b: PostgresServersBackend, name: string): ConnInfo {
  const s = b.state(name);
  assert.ok(s, `state of ${name}`);
  return { port: s.port, user: login, password };
}

async function scalar<T>(c: ConnInfo, sql: string, db = 'fluentedge'): Promise<T> {
  const client = await connect(c, db);
  try {
    const r = await client.query(sql);
    return Object.values(r.rows[0] as Record<string, unknown>)[0] as T;
  } finally {
    await client.end();
  }
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

function pidOf(name: string): number | undefined {
  return postmaster(path.join(dataDir, 'servers', name, 'data'))?.pid;
}

before(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-pg-'));
  // mkdtemp makes 0700; the cluster user must traverse it.
  fs.chmodSync(dataDir, 0o755);
});

after(async () => {
  for (const b of backends) await b.close().catch(() => undefined);
  // Whatever a failed test left running must not outlive the run.
  const id = resolveOsUser();
  const servers = path.join(dataDir, 'servers');
  for (const name of fs.existsSync(servers) ? fs.readdirSync(servers) : []) {
    const serverDir = path.join(servers, name);
    await pgStop(
      {
        binDir: defaultBinDir(),
        id,
        serverDir,
        dataDir: path.join(serverDir, 'data'),
        logFile: path.join(serverDir, 'postgres.log'),
      },
      'immediate',
    ).catch(() => undefined);
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('sandbox PostgreSQL servers', () => {
  let b: PostgresServersBackend;
  let createdAt: number;

  test('create: initdb, seed the manual tables, password login over TCP', async () => {
    b = backend(1500);
    createdAt = Date.now();
    const s = await b.create(spec);
    assert.equal(s.state, 'Ready');
    assert.equal(s.host, '127.0.0.1');
    assert.ok(s.port >= portRange[0] && s.port <= portRange[1]);
    const c = info(b, spec.name);
    for (const [table, n] of Object.entries(seedCounts)) {
      assert.equal(Number(await scalar(c, `SELECT count(*) FROM ${table}`)), n, table);
    }
    assert.match(await scalar<string>(c, 'SELECT version_num FROM alembic_version'), /^[0-9a-f]{12}$/);
    assert.equal(
      await scalar<boolean>(c, 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user'),
      true,
    );
    assert.equal(await scalar<string>(c, 'SHOW archive_mode'), 'on');
    await assert.rejects(scalar({ ...c, password: 'wrong' }, 'SELECT 1'), /password authentication failed/);
    // idempotent on name: same server, same port
    assert.deepEqual(await b.create(spec), s);
  });

  test('stop refuses connections; start keeps the data', async () => {
    const c = info(b, spec.name);
    assert.equal((await b.stop(spec.name)).state, 'Stopped');
    assert.equal((await b.stop(spec.name)).state, 'Stopped');
    assert.equal(b.state(spec.name)?.state, 'Stopped');
    await assert.rejects(scalar(c, 'SELECT 1'), /ECONNREFUSED/);
    assert.equal((await b.start(spec.name)).state, 'Ready');
    assert.equal((await b.start(spec.name)).state, 'Ready');
    assert.equal(Number(await scalar(c, 'SELECT count(*) FROM users')), seedCounts.users);
    const pid = pidOf(spec.name);
    assert.equal((await b.restart(spec.name)).state, 'Ready');
    assert.notEqual(pidOf(spec.name), pid);
    assert.equal(b.state('no-such-server'), undefined);
  });

  test('backups: the first one right after seeding, then timer-driven ones', async () => {
    const first = (await b.backups(spec.name))[0];
    assert.ok(first);
    assert.match(first.name, /^backup_\d{8}T\d{6}Z/);
    const start = Date.parse(first.startTime);
    const done = Date.parse(first.completedTime);
    assert.ok(start >= createdAt - 1000 && start <= done && done <= Date.now(), JSON.stringify(first));
    assert.ok(first.sizeBytes > 1_000_000, `size ${first.sizeBytes}`);
    const label = fs.readFileSync(
      path.join(dataDir, 'servers', spec.name, 'backups', first.name, 'backup_label'),
      'utf8',
    );
    assert.match(label, /START WAL LOCATION/);
    const later = await until('a timer-driven backup', async () => {
      const list = await b.backups(spec.name);
      return list.length >= 2 ? list : undefined;
    });
    const second = later.at(-1)!;
    assert.ok(Date.parse(second.startTime) > done, JSON.stringify(later));
  });

  test('a new backend instance adopts a running cluster and starts a stopped one', async () => {
    await b.stop(spec.name);
    const fresh = backend();
    assert.equal(fresh.state(spec.name)?.state, 'Stopped');
    assert.equal((await fresh.start(spec.name)).state, 'Ready');
    assert.equal(
      Number(await scalar(info(fresh, spec.name), 'SELECT count(*) FROM review_items')),
      seedCounts.review_items,
    );
    await fresh.close();
    assert.equal(pidOf(spec.name), undefined, 'close() stops what the backend started');

    // As if the sandbox had been SIGKILLed: the postmaster runs, nobody owns it.
    const serverDir = path.join(dataDir, 'servers', spec.name);
    await pgStart({
      binDir: defaultBinDir(),
      id: resolveOsUser(),
      serverDir,
      dataDir: path.join(serverDir, 'data'),
      logFile: path.join(serverDir, 'postgres.log'),
    });
    const orphan = pidOf(spec.name);
    assert.ok(orphan);
    const heir = backend();
    assert.equal(heir.state(spec.name)?.state, 'Ready');
    assert.equal((await heir.start(spec.name)).state, 'Ready');
    assert.equal(pidOf(spec.name), orphan, 'adopted, not restarted');
    assert.deepEqual(
      (await heir.backups(spec.name)).map((x) => x.name),
      (await b.backups(spec.name)).map((x) => x.name),
    );
    await heir.close();
    assert.equal(pidOf(spec.name), undefined);
    assert.equal((await b.start(spec.name)).state, 'Ready');
  });

  test('point-in-time restore has exactly the rows committed before the target', async () => {
    const c = info(b, spec.name);
    const client = await connect(c, 'fluentedge');
    let target: Date;
    try {
      await client.query('CREATE TABLE ledger (id int PRIMARY KEY, note text)');
      await client.query("INSERT INTO ledger SELECT g, 'before' FROM generate_series(1, 50) g");
      // now() after the commit; +1 ms because a JS Date truncates the microseconds.
      const r = await client.query<{ t: Date }>("SELECT now() + interval '1 millisecond' AS t");
      target = r.rows[0]!.t;
      await sleep(50);
      await client.query("INSERT INTO ledger SELECT g, 'after' FROM generate_series(51, 75) g");
      await client.query('DELETE FROM users WHERE id <= 10');
      await client.query('DROP TABLE ledger');
      await client.query('SELECT pg_switch_wal()');
    } finally {
      await client.end();
    }

    await assert.rejects(
      b.restore('pg-future', spec.name, new Date(Date.now() + 3_600_000)),
      (e: unknown) => {
        return e instanceof BackendError && e.code === 'InvalidInput';
      },
    );
    await assert.rejects(b.restore('pg-early', spec.name, new Date(createdAt - 3_600_000)), (e: unknown) => {
      return e instanceof BackendError && e.code === 'InvalidInput';
    });
    await assert.rejects(b.restore('pg-x', 'no-such-server', target), (e: unknown) => {
      return e instanceof BackendError && e.code === 'NotFound';
    });

    const s = await b.restore('pg-restored', spec.name, target);
    assert.equal(s.state, 'Ready');
    assert.notEqual(s.port, c.port);
    const rc = info(b, 'pg-restored');
    assert.equal(Number(await scalar(rc, 'SELECT count(*) FROM ledger')), 50);
    assert.equal(Number(await scalar(rc, "SELECT count(*) FROM ledger WHERE note = 'after'")), 0);
    assert.equal(Number(await scalar(rc, 'SELECT count(*) FROM users')), seedCounts.users);
    assert.equal(await scalar<boolean>(rc, 'SELECT pg_is_in_recovery()'), false);
    await scalar(rc, "INSERT INTO ledger VALUES (1000, 'written after promotion') RETURNING id");
    // a restored server starts its own backup chain
    await until('first backup of the restored server', async () =>
      (await b.backups('pg-restored')).length > 0 ? true : undefined,
    );
    // the source is untouched
    assert.equal(Number(await scalar(c, 'SELECT count(*) FROM users')), seedCounts.users - 10);

    // retry-safe for the same request, a conflict for a different one
    assert.deepEqual(await b.restore('pg-restored', spec.name, target), s);
    await assert.rejects(
      b.restore('pg-restored', spec.name, new Date(target.getTime() - 1)),
      (e: unknown) => {
        return e instanceof BackendError && e.code === 'Conflict';
      },
    );
  });

  test('restore to "now" from a stopped source includes its unarchived last commits', async () => {
    const c = info(b, spec.name);
    const client = await connect(c, 'fluentedge');
    await client
      .query('CREATE TABLE tail AS SELECT g AS id FROM generate_series(1, 5) g')
      .finally(() => client.end());
    await b.stop(spec.name);
    const s = await b.restore('pg-latest', spec.name, new Date());
    assert.equal(s.state, 'Ready');
    const rc = info(b, 'pg-latest');
    assert.equal(Number(await scalar(rc, 'SELECT count(*) FROM tail')), 5);
    assert.equal(await scalar<string | null>(rc, "SELECT to_regclass('ledger')::text"), null);
    assert.equal(b.state(spec.name)?.state, 'Stopped');
  });

  test('a restored server can take its first backup later; deleted before then, it never copies', async () => {
    const backedUp: unknown[] = [];
    const late = createServersBackend({
      dataDir,
      portRange,
      backupIntervalMs: 0,
      firstBackupDelayMs: 1500,
      log: (event, fields) => {
        if (event === 'backup') backedUp.push(fields['server']);
      },
    });
    backends.push(late);
    await late.restore('pg-late', spec.name, new Date());
    await new Promise((r) => setTimeout(r, 500));
    const started = fs.readdirSync(path.join(dataDir, 'servers', 'pg-late')).includes('backups')
      ? fs.readdirSync(path.join(dataDir, 'servers', 'pg-late', 'backups'))
      : [];
    assert.deepEqual(started, [], 'no backup begun 500 ms after Ready');
    assert.deepEqual(backedUp, []);
    await until('the delayed first backup', async () =>
      (await late.backups('pg-late')).length > 0 ? true : undefined,
    );
    await late.restore('pg-gone', spec.name, new Date());
    await late.delete('pg-gone');
    await new Promise((r) => setTimeout(r, 2000));
    assert.deepEqual(backedUp, ['pg-late'], 'pg-gone was deleted before its first backup and never took one');
    await late.delete('pg-late');
  });

  test('concurrent creates get distinct ports; a given port is kept', async () => {
    const [x, y] = await Promise.all([
      b.create({ ...spec, name: 'pg-x', port: portRange[1] }),
      b.create({ ...spec, name: 'pg-y' }),
    ]);
    assert.equal(x.port, portRange[1]);
    assert.notEqual(y.port, x.port);
    assert.notEqual(y.port, b.state(spec.name)?.port);
    await assert.rejects(b.create({ ...spec, name: 'pg-z', port: portRange[1] }), (e: unknown) => {
      return e instanceof BackendError && e.code === 'Conflict';
    });
    await Promise.all([b.delete('pg-x'), b.delete('pg-y')]);
  });

  test(
    'an unreachable dataDir is explained',
    { skip: process.getuid?.() !== 0 && 'needs root' },
    async () => {
      const locked = fs.mkdtempSync(path.join(dataDir, 'locked-'));
      const other = createServersBackend({
        dataDir: path.join(locked, 'sandbox'),
        portRange,
        log: () => undefined,
      });
      backends.push(other);
      await assert.rejects(
        other.create({ ...spec, name: 'pg-locked' }),
        /cannot traverse .*locked-.*chmod o\+x/s,
      );
      assert.equal(other.state('pg-locked'), undefined);
      // The same for the binaries (a checkout under a 0700 directory), before any initdb.
      const hidden = fs.mkdtempSync(path.join(os.tmpdir(), 'bin-'));
      fs.symlinkSync(defaultBinDir(), path.join(hidden, 'bin'));
      const blind = createServersBackend({
        dataDir: path.join(dataDir, 'blind'),
        binDir: path.join(hidden, 'bin'),
        portRange,
        log: () => undefined,
      });
      backends.push(blind);
      try {
        await assert.rejects(
          blind.create({ ...spec, name: 'pg-blind' }),
          /cannot traverse .*bin-.*chmod o\+x/s,
        );
      } finally {
        fs.rmSync(hidden, { recursive: true, force: true });
      }
    },
  );

  test('delete stops the cluster and removes its files', async () => {
    for (const name of ['pg-latest', 'pg-restored', spec.name]) {
      const port = b.state(name)?.port;
      assert.ok(port);
      await b.delete(name);
      await b.delete(name);
      assert.equal(b.state(name), undefined);
      assert.equal(fs.existsSync(path.join(dataDir, 'servers', name)), false);
      assert.deepEqual(await b.backups(name), []);
      await assert.rejects(scalar({ port, user: login, password }, 'SELECT 1'), /ECONNREFUSED/);
    }
  });
});
