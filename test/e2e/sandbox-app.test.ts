// The sandbox's container-app runtime for real: child processes, the weighted ingress, metrics,
// PostgreSQL/Redis health and the LLM circuit, all on ephemeral ports.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Client } from 'pg';
import type { AppsBackend, RevisionRuntimeState, RevisionSpec } from '../../src/sandbox/backend';
import { parseMetrics } from '../../src/sandbox/apps/metrics';
import { createAppsBackend } from '../../src/sandbox/apps/runtime';
import { type LlmStubs, startLlmStubs } from '../../src/sandbox/llm';
import { startLoad } from '../../src/sandbox/load';

const DATABASE_URL = process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const APP = 'fluentedge-backend';

let dataDir: string;
let llm: LlmStubs;
let apps: AppsBackend;
let ingress: string;
const pids = new Set<number>();

const spec = (
  suffix: string,
  image = `acr.io/${APP}:1.4.2`,
  env: Record<string, string> = {},
): RevisionSpec => ({
  app: APP,
  name: `${APP}--${suffix}`,
  image,
  env,
});

async function ensure(s: RevisionSpec): Promise<RevisionRuntimeState> {
  const st = await apps.ensureRevision(s);
  if (st.pid) pids.add(st.pid);
  return st;
}

interface Res {
  status: number;
  revision: string | undefined;
  body: string;
}

// One keep-alive agent for the burst: 1,000 fresh connections would measure the OS, not the ingress.
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

function request(url: string, method = 'GET', body?: unknown): Promise<Res> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      url,
      { method, agent, headers: data ? { 'content-type': 'application/json' } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const rev = res.headers['x-sandbox-revision'];
          resolve({
            status: res.statusCode ?? 0,
            revision: typeof rev === 'string' ? rev : undefined,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

async function burst(url: string, n: number, concurrency = 20): Promise<Res[]> {
  const out: Res[] = [];
  let i = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (i < n) {
        i++;
        out.push(await request(url));
      }
    }),
  );
  return out;
}

const direct = (name: string, p: string) => {
  const port = apps.revisionState(name).port;
  assert.ok(port, `${name} has a direct port`);
  return `http://127.0.0.1:${port}${p}`;
};

async function until<T>(
  what: string,
  fn: () => T | Promise<T>,
  ok: (v: T) => boolean,
  ms = 10_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether pid is a live sandbox-app process; the cmdline check guards against pid reuse. */
const alive = (pid: number) => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`apps${path.sep}app.`);
  } catch {
    return false;
  }
};

/**
 * Live sandbox-app child processes of this test process, as `pid cmdline`, from /proc (Linux).
 * Other children (tsx's esbuild service) are not ours to judge.
 */
function children(): string[] {
  const out: string[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      // Fields after the parenthesised command: state, ppid, …; zombies are already dead.
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== process.pid || state === 'Z') continue;
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(`apps${path.sep}app.`)) out.push(`${d} ${cmd}`);
    } catch {}
  }
  return out;
}

before(async () => {
  const pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
  await pg.query('SELECT 1');
  await pg.end();

  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-apps-'));
  llm = await startLlmStubs({ port: 0 });
  llm.setProvider('azure-openai', { latencyMs: 20 });
  apps = createAppsBackend({
    dataDir,
    ingressPorts: { [APP]: 0 },
    healthPollMs: 200,
    baseEnv: {
      DATABASE_URL,
      REDIS_URL,
      LLM_BASE_URL: llm.url,
      LLM_PROVIDER: 'azure-openai',
      LLM_PING_MS: '200',
    },
  });
  ingress = (await apps.ensureIngress(APP)).url;
});

after(async () => {
  await apps.close();
  await llm.close();
  agent.destroy();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('revisions run as processes with real /health: DB, Redis and LLM circuit', async () => {
  const [a, b] = await Promise.all([ensure(spec('a')), ensure(spec('b', `acr.io/${APP}:1.5.0`))]);
  for (const s of [a, b]) {
    assert.equal(s.runningState, 'Running');
    assert.equal(s.healthState, 'Healthy');
    assert.equal(s.replicas, 1);
    assert.ok(s.port && s.pid);
  }
  const again = await apps.ensureRevision(spec('a'));
  assert.equal(again.pid, a.pid, 'ensureRevision is idempotent');

  const res = await request(direct(`${APP}--a`, '/health'));
  assert.equal(res.status, 200);
  const h = JSON.parse(res.body);
  assert.equal(h.status, 'healthy');
  assert.equal(h.revision, `${APP}--a`);
  assert.equal(h.image, `acr.io/${APP}:1.4.2`);
  assert.equal(h.database.status, 'ok');
  assert.equal(h.database.server, '127.0.0.1:5432/test');
  assert.equal(typeof h.database.latencyMs, 'number');
  assert.equal(h.redis.status, 'ok');
  assert.equal(h.llm.provider, 'azure-openai');
  assert.equal(h.llm.circuit, 'closed');

  const conv = await request(direct(`${APP}--a`, '/api/v1/conversations'));
  assert.equal(conv.status, 200);
  assert.ok(Array.isArray(JSON.parse(conv.body).items));
  const chat = await request(direct(`${APP}--a`, '/api/v1/chat'), 'POST', { message: 'Shall we practise?' });
  assert.equal(chat.status, 200);
  assert.match(JSON.parse(chat.body).reply, /Shall we practise\?/);
  assert.ok(
    fs.readFileSync(path.join(dataDir, 'revisions', `${APP}--a.log`), 'utf8').includes('listening on'),
  );
});

test('90/10 weights split 1,000 ingress requests within ±5% and /metrics counts match exactly', async () => {
  apps.setTraffic(APP, [
    { revisionName: `${APP}--a`, weight: 90 },
    { revisionName: `${APP}--b`, weight: 10 },
  ]);
  const before = parseMetrics((await request(`${ingress}/metrics`)).body);
  const results = await burst(`${ingress}/api/v1/conversations`, 1000);
  assert.equal(results.length, 1000);
  const seen = new Map<string, Map<string, number>>();
  for (const r of results) {
    assert.ok(r.revision, 'every proxied response names its revision');
    const cls = `${Math.floor(r.status / 100)}xx`;
    const m = seen.get(r.revision) ?? new Map<string, number>();
    m.set(cls, (m.get(cls) ?? 0) + 1);
    seen.set(r.revision, m);
  }
  const total = (rev: string) => [...(seen.get(rev)?.values() ?? [])].reduce((x, y) => x + y, 0);
  const shareA = total(`${APP}--a`) / 1000;
  assert.ok(Math.abs(shareA - 0.9) <= 0.05, `share of a = ${shareA}`);
  assert.equal(total(`${APP}--a`) + total(`${APP}--b`), 1000);

  const metrics = parseMetrics((await request(`${ingress}/metrics`)).body);
  const value = (rows: typeof metrics, name: string, labels: Record<string, string>) =>
    rows
      .filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))
      .reduce((s, x) => s + x.value, 0);
  for (const rev of [`${APP}--a`, `${APP}--b`]) {
    for (const cls of ['2xx', '3xx', '4xx', '5xx']) {
      const l = { app: APP, revision: rev, code_class: cls };
      const counted =
        value(metrics, 'sandbox_ingress_requests_total', l) -
        value(before, 'sandbox_ingress_requests_total', l);
      assert.equal(counted, seen.get(rev)?.get(cls) ?? 0, `${rev} ${cls}`);
    }
    const l = { app: APP, revision: rev };
    const count =
      value(metrics, 'sandbox_ingress_request_duration_seconds_count', l) -
      value(before, 'sandbox_ingress_request_duration_seconds_count', l);
    assert.equal(count, total(rev));
    const inf = value(metrics, 'sandbox_ingress_request_duration_seconds_bucket', { ...l, le: '+Inf' });
    assert.equal(inf, value(metrics, 'sandbox_ingress_request_duration_seconds_count', l));
  }
  assert.equal(value(metrics, 'sandbox_ingress_traffic_weight', { revision: `${APP}--b` }), 10);
});

test('the load generator drives steady traffic through the ingress and stops', async () => {
  const load = startLoad({ url: ingress, rps: 20 });
  await new Promise((r) => setTimeout(r, 1_200));
  await load.stop();
  const s = load.stats();
  assert.ok(s.completed >= 10, JSON.stringify(s));
  assert.equal(s.errors, 0);
  assert.equal(s.sent, s.completed);
  assert.equal(s.byStatus['200'], s.completed, JSON.stringify(s.byStatus));
  const after = load.stats().sent;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(load.stats().sent, after, 'nothing is sent after stop()');
});

test('SANDBOX_ERROR_RATE set through the knobs gives about that 5xx ratio', async () => {
  const b = `${APP}--b`;
  const set = await request(direct(b, '/_sandbox/knobs'), 'POST', { errorRate: 0.3 });
  assert.equal(set.status, 200);
  assert.equal(JSON.parse((await request(direct(b, '/_sandbox/knobs'))).body).errorRate, 0.3);
  const results = await burst(direct(b, '/api/v1/reviews/due'), 600);
  const ratio = results.filter((r) => r.status >= 500).length / results.length;
  assert.ok(Math.abs(ratio - 0.3) <= 0.08, `5xx ratio ${ratio}`);
  assert.ok(results.every((r) => r.status === 200 || r.status === 500));
  const bad = await request(direct(b, '/_sandbox/knobs'), 'POST', { errorRate: 3, nope: 1 });
  assert.equal(bad.status, 400);
  await request(direct(b, '/_sandbox/knobs'), 'POST', { errorRate: 0 });
});

test('images map to behaviour; revision env overrides the map; latency knob adds latency', async () => {
  const [faulty, pinned, slow] = await Promise.all([
    ensure(spec('faulty', `acr.io/${APP}:1.6.0-faulty`)),
    ensure(spec('pinned', `acr.io/${APP}:1.6.0-faulty`, { SANDBOX_ERROR_RATE: '0' })),
    ensure(spec('slow', `acr.io/${APP}:1.6.0-slow`, { SANDBOX_LATENCY_MS: '300' })),
  ]);
  assert.equal(faulty.runningState, 'Running');
  const knobs = (name: string) => request(direct(name, '/_sandbox/knobs')).then((r) => JSON.parse(r.body));
  assert.equal((await knobs(`${APP}--faulty`)).errorRate, 0.2);
  assert.equal((await knobs(`${APP}--pinned`)).errorRate, 0);
  assert.equal((await knobs(`${APP}--slow`)).latencyMs, 300);
  const t0 = performance.now();
  assert.equal((await request(direct(`${APP}--slow`, '/api/v1/conversations'))).status, 200);
  assert.ok(performance.now() - t0 >= 300);
  const health = JSON.parse((await request(direct(`${APP}--slow`, '/health'))).body);
  assert.equal(health.status, 'healthy', 'knobs slow the API, not the probe');
  for (const s of ['faulty', 'pinned', 'slow']) await apps.stopRevision(`${APP}--${s}`);
  assert.ok(pinned.pid && slow.pid);
});

test('unhealthy revisions: forced by env, by runtime knob, database down, Redis down', async () => {
  const [forced, dbDown, redisDown] = await Promise.all([
    ensure(spec('forced', `acr.io/${APP}:1.4.2`, { SANDBOX_HEALTH: 'unhealthy' })),
    ensure(
      spec('nodb', `acr.io/${APP}:1.4.2`, { DATABASE_URL: 'postgres://app:s3cret@127.0.0.1:1/fluentedge' }),
    ),
    ensure(spec('noredis', `acr.io/${APP}:1.4.2`, { REDIS_URL: 'redis://127.0.0.1:1' })),
  ]);
  assert.equal(forced.runningState, 'Running');
  assert.equal(forced.healthState, 'Unhealthy');
  assert.equal((await request(direct(`${APP}--forced`, '/health'))).status, 503);

  assert.equal(dbDown.healthState, 'Unhealthy');
  const db = await request(direct(`${APP}--nodb`, '/health'));
  assert.equal(db.status, 503);
  const dbh = JSON.parse(db.body);
  assert.equal(dbh.status, 'unhealthy');
  assert.equal(dbh.database.status, 'down');
  assert.equal(dbh.database.server, '127.0.0.1:1/fluentedge');
  assert.ok(!db.body.includes('s3cret'), 'the password never appears in /health');

  // Degraded still serves: the probe passes, the body says why.
  assert.equal(redisDown.healthState, 'Healthy');
  const rh = JSON.parse((await request(direct(`${APP}--noredis`, '/health'))).body);
  assert.equal(rh.status, 'degraded');
  assert.equal(rh.redis.status, 'down');

  const b = `${APP}--b`;
  await request(direct(b, '/_sandbox/knobs'), 'POST', { health: 'unhealthy' });
  await until(
    'b Unhealthy',
    () => apps.revisionState(b).healthState,
    (h) => h === 'Unhealthy',
  );
  await request(direct(b, '/_sandbox/knobs'), 'POST', { health: 'auto' });
  await until(
    'b Healthy again',
    () => apps.revisionState(b).healthState,
    (h) => h === 'Healthy',
  );
  await Promise.all(['forced', 'nodb', 'noredis'].map((s) => apps.stopRevision(`${APP}--${s}`)));
});

test('SANDBOX_FAIL_START makes a Failed revision; a crash after start is Failed too', async () => {
  const failed = await apps.ensureRevision(
    spec('broken', `acr.io/${APP}:1.7.0`, { SANDBOX_FAIL_START: '1' }),
  );
  assert.equal(failed.runningState, 'Failed');
  assert.equal(failed.healthState, 'None');
  assert.equal(failed.port, undefined);
  assert.match(
    fs.readFileSync(path.join(dataDir, 'revisions', `${APP}--broken.log`), 'utf8'),
    /exited code=1/,
  );

  const c = await ensure(spec('crash'));
  assert.ok(c.pid);
  process.kill(c.pid, 'SIGKILL');
  await until(
    'crash Failed',
    () => apps.revisionState(`${APP}--crash`).runningState,
    (s) => s === 'Failed',
  );
  const restarted = await ensure(spec('crash'));
  assert.equal(restarted.runningState, 'Running', 'ensureRevision starts a failed revision again');
  assert.notEqual(restarted.pid, c.pid);
  const r2 = await apps.restartRevision(spec('crash'));
  if (r2.pid) pids.add(r2.pid);
  assert.equal(r2.runningState, 'Running');
  assert.notEqual(r2.pid, restarted.pid);
  await apps.stopRevision(`${APP}--crash`);
});

test('LLM provider outage opens the circuit; recovery closes it after the cool-down', async () => {
  const name = `${APP}--claude`;
  await ensure(
    spec('claude', `acr.io/${APP}:1.4.2`, { LLM_PROVIDER: 'anthropic', LLM_CIRCUIT_OPEN_MS: '1500' }),
  );
  llm.setProvider('anthropic', { healthy: false, latencyMs: 10 });
  const h = await until(
    'circuit open',
    async () => JSON.parse((await request(direct(name, '/health'))).body),
    (b) => b.llm.circuit === 'open',
  );
  assert.equal(h.status, 'degraded');
  assert.equal(h.llm.provider, 'anthropic');
  assert.match(h.llm.lastError, /HTTP 529/);
  const chat = await request(direct(name, '/api/v1/chat'), 'POST', { message: 'hi' });
  assert.equal(chat.status, 503);
  assert.equal(JSON.parse(chat.body).circuit, 'open');
  assert.equal(apps.revisionState(name).healthState, 'Healthy', 'degraded still serves');
  const a = JSON.parse((await request(direct(`${APP}--a`, '/health'))).body);
  assert.equal(a.llm.circuit, 'closed', 'another provider is unaffected');

  llm.setProvider('anthropic', { healthy: true });
  await until(
    'circuit closed',
    async () => JSON.parse((await request(direct(name, '/health'))).body),
    (b) => b.llm.circuit === 'closed' && b.status === 'healthy',
  );
  await apps.stopRevision(name);
});

test('a stopped revision gets no traffic; none running → 503 from the ingress', async () => {
  const b = `${APP}--b`;
  await apps.stopRevision(b);
  const st = apps.revisionState(b);
  assert.equal(st.runningState, 'Stopped');
  assert.equal(st.healthState, 'None');
  assert.equal(st.port, undefined);
  await apps.stopRevision(b);
  const results = await burst(`${ingress}/api/v1/conversations`, 200);
  assert.ok(results.every((r) => r.status === 200 && r.revision === `${APP}--a`));

  await apps.stopRevision(`${APP}--a`);
  const none = await request(`${ingress}/api/v1/conversations`);
  assert.equal(none.status, 503);
  assert.equal(JSON.parse(none.body).error.code, 'NoActiveRevision');
  const m = parseMetrics((await request(`${ingress}/metrics`)).body);
  assert.equal(m.find((x) => x.name === 'sandbox_ingress_unrouted_requests_total')?.value, 1);
  const a = await ensure(spec('a'));
  assert.equal(a.runningState, 'Running');
  assert.equal((await request(`${ingress}/`)).revision, `${APP}--a`);
});

test('a SIGKILLed host leaves no orphaned revision', async () => {
  const tsx = pathToFileURL(require.resolve('tsx')).href;
  const runtime = path.resolve(__dirname, '../../src/sandbox/apps/runtime.ts');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-orphan-'));
  const code = `
    const { createAppsBackend } = require(${JSON.stringify(runtime)});
    const b = createAppsBackend({ dataDir: ${JSON.stringify(dir)} });
    b.ensureRevision({ app: 'x', name: 'x--1', image: 'x:1', env: {} })
      .then((s) => console.log(JSON.stringify(s)));`;
  const host = spawn(process.execPath, ['--import', tsx, '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    host.stdout.once('data', (d: Buffer) => resolve(d.toString()));
    host.once('exit', (c) => reject(new Error(`host exited ${c}`)));
  });
  const child = JSON.parse(line) as RevisionRuntimeState;
  assert.equal(child.runningState, 'Running');
  assert.ok(child.pid && alive(child.pid));
  host.kill('SIGKILL');
  await until(
    'revision gone',
    () => alive(child.pid!),
    (a) => !a,
    5_000,
  );
  fs.rmSync(dir, { recursive: true, force: true });
});

test('close() kills every revision process and the ingress', async () => {
  const a = apps.revisionState(`${APP}--a`);
  assert.ok(a.pid);
  assert.ok(
    children().some((c) => c.startsWith(`${a.pid} `)),
    'the revision is our child process',
  );
  await apps.close();
  for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} survived close()`);
  assert.deepEqual(children(), [], 'no revision process survives close()');
  assert.equal(apps.revisionState(`${APP}--a`).runningState, 'Stopped');
  await assert.rejects(request(`${ingress}/metrics`));
  await apps.close();
});
