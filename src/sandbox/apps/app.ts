// The sandbox FluentEdge backend: what one container-app revision runs. The runtime starts it
// as a child process; everything it does is driven by env (DATABASE_URL, REDIS_URL, LLM_PROVIDER,
// LLM_BASE_URL, SANDBOX_* knobs) the way the real FastAPI service is.
//
// /health answers 200 for `healthy` and `degraded` (still serving: Redis down, LLM circuit not
// closed, no DATABASE_URL) and 503 for `unhealthy` (database down, or forced by SANDBOX_HEALTH),
// matching how a liveness/readiness probe treats it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Database, type DepStatus, Llm, LlmUnavailable, redisPing } from './deps';
import { type Knobs, knobsFromEnv, knobsPatch } from './knobs';

const env = process.env;

function int(name: string, fallback: number): number {
  const n = Number(env[name]);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

if (env['SANDBOX_FAIL_START'] === '1' || env['SANDBOX_FAIL_START'] === 'true') {
  console.error('SANDBOX_FAIL_START is set: exiting before listening, as a broken image would');
  process.exit(1);
}

const id = {
  app: env['APP_NAME'] ?? 'fluentedge-backend',
  revision: env['REVISION_NAME'] ?? 'local',
  image: env['IMAGE'] ?? 'unknown',
};
let knobs: Knobs = knobsFromEnv(env);
const db = env['DATABASE_URL'] ? new Database(env['DATABASE_URL']) : undefined;
const llm = new Llm({
  provider: env['LLM_PROVIDER'] ?? 'azure-openai',
  baseUrl: env['LLM_BASE_URL'],
  timeoutMs: int('LLM_TIMEOUT_MS', 5_000),
  failureThreshold: int('LLM_FAILURE_THRESHOLD', 3),
  openMs: int('LLM_CIRCUIT_OPEN_MS', 30_000),
});
const startedAt = Date.now();

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const jitter = (min: number, max: number) => sleep(min + Math.random() * (max - min));

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body['detail'] ?? status));
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-revision': id.revision,
  });
  res.end(text);
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  if (!raw) return {};
  try {
    return JSON.parse(raw);
  } catch {
    throw new HttpError(400, { detail: 'body is not JSON' });
  }
}

async function health(): Promise<{ code: number; body: unknown }> {
  const unconfigured: DepStatus = { status: 'unconfigured' };
  const [database, redis] = await Promise.all([
    db ? db.check() : unconfigured,
    env['REDIS_URL'] ? redisPing(env['REDIS_URL']) : unconfigured,
  ]);
  const llmState = llm.snapshot();
  const reasons: string[] = [];
  if (knobs.health === 'unhealthy') reasons.push('forced unhealthy by SANDBOX_HEALTH knob');
  if (database.status === 'down') reasons.push(`database down: ${database.error}`);
  const fatal = reasons.length > 0;
  if (database.status === 'unconfigured') reasons.push('DATABASE_URL not set');
  if (redis.status === 'down') reasons.push(`redis down: ${redis.error}`);
  if (llmState.status !== 'unconfigured' && llmState.circuit !== 'closed') {
    reasons.push(`LLM circuit ${llmState.circuit} for ${llmState.provider}`);
  }
  const status = fatal ? 'unhealthy' : reasons.length ? 'degraded' : 'healthy';
  return {
    code: fatal ? 503 : 200,
    body: {
      status,
      ...id,
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      reasons,
      database,
      redis,
      llm: llmState,
      knobs,
    },
  };
}

function needDb(): Database {
  if (!db) throw new HttpError(503, { detail: 'database not configured (DATABASE_URL unset)' });
  return db;
}

/** Runs the seeded-table query, or a generic one when the database is not FluentEdge's. */
async function readRows(
  table: string,
  sql: string,
): Promise<{ source: string; rows: Record<string, unknown>[] }> {
  const d = needDb();
  try {
    return { source: table, rows: await d.query(sql) };
  } catch (err) {
    const code = (err as { code?: string }).code;
    // undefined_table / undefined_column: a bare database; everything else is a real outage.
    if (code !== '42P01' && code !== '42703') {
      throw new HttpError(503, { detail: 'database unavailable', error: (err as Error).message });
    }
    const rows = await d
      .query('SELECT now() AS now, count(*)::int AS connections FROM pg_stat_activity')
      .catch((e: Error) => {
        throw new HttpError(503, { detail: 'database unavailable', error: e.message });
      });
    return { source: 'pg_stat_activity', rows };
  }
}

async function api(method: string, path: string, req: http.IncomingMessage): Promise<unknown> {
  if (method === 'GET' && path === '/api/v1/conversations') {
    await jitter(15, 60);
    const r = await readRows(
      'conversation_sessions',
      'SELECT * FROM conversation_sessions ORDER BY started_at DESC LIMIT 20',
    );
    return { items: r.rows, count: r.rows.length, source: r.source };
  }
  if (method === 'GET' && path === '/api/v1/reviews/due') {
    await jitter(10, 50);
    const r = await readRows(
      'review_items',
      'SELECT * FROM review_items WHERE next_review_at <= now() ORDER BY next_review_at LIMIT 20',
    );
    return { items: r.rows, count: r.rows.length, source: r.source };
  }
  if (method === 'POST' && path === '/api/v1/chat') {
    const body = (await readJson(req)) as { message?: unknown };
    const prompt = typeof body.message === 'string' && body.message ? body.message : 'Hello!';
    await jitter(5, 20);
    try {
      const reply = await llm.chat(prompt);
      return { reply, provider: llm.snapshot().provider };
    } catch (err) {
      if (err instanceof LlmUnavailable) {
        const s = llm.snapshot();
        throw new HttpError(503, {
          detail: 'LLM provider unavailable',
          provider: s.provider,
          circuit: s.circuit,
          error: err.message,
        });
      }
      throw err;
    }
  }
  throw new HttpError(404, { detail: 'Not Found' });
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  const path = new URL(req.url ?? '/', 'http://app').pathname;
  if (path === '/health' && (method === 'GET' || method === 'HEAD')) {
    const h = await health();
    return send(res, h.code, h.body);
  }
  if (path === '/_sandbox/knobs') {
    if (method === 'POST') {
      const parsed = knobsPatch.safeParse(await readJson(req));
      if (!parsed.success) {
        return send(res, 400, {
          detail: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`),
        });
      }
      knobs = { ...knobs, ...parsed.data };
      console.log(`knobs changed: ${JSON.stringify(knobs)}`);
    }
    return send(res, 200, knobs);
  }
  if (path === '/' && method === 'GET') return send(res, 200, { service: 'fluentedge-backend', ...id });
  if (!path.startsWith('/api/')) return send(res, 404, { detail: 'Not Found' });

  const t0 = performance.now();
  let status = 200;
  try {
    if (knobs.latencyMs > 0) await sleep(knobs.latencyMs);
    if (knobs.errorRate > 0 && Math.random() < knobs.errorRate) {
      throw new HttpError(500, { detail: 'Internal Server Error', injected: true });
    }
    send(res, 200, await api(method, path, req));
  } catch (err) {
    const e = err instanceof HttpError ? err : new HttpError(500, { detail: 'Internal Server Error' });
    if (!(err instanceof HttpError)) console.error(err);
    status = e.status;
    send(res, e.status, e.body);
  } finally {
    console.log(`${method} ${path} ${status} ${Math.round(performance.now() - t0)}ms`);
  }
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err: unknown) => {
    console.error(err);
    if (!res.headersSent) send(res, 500, { detail: 'Internal Server Error' });
    else res.destroy();
  });
});

// The background ping keeps the circuit honest when no chat traffic flows, and is the
// half-open trial after a cool-down.
const ping = setInterval(
  () => {
    if (llm.configured) llm.chat('ping', 1).catch(() => {});
  },
  int('LLM_PING_MS', 5_000),
);

let stopping = false;
function shutdown(reason: string, code = 0): void {
  if (stopping) return;
  stopping = true;
  console.log(`stopping: ${reason}`);
  clearInterval(ping);
  setTimeout(() => process.exit(code), 2_000).unref();
  server.close();
  server.closeAllConnections();
  Promise.resolve(db?.close())
    .catch(() => {})
    .finally(() => process.exit(code));
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
// The IPC channel closes when the runtime dies, even by SIGKILL: no orphaned revisions.
process.on('disconnect', () => shutdown('parent process gone'));
const parentPid = Number(env['SANDBOX_PARENT_PID']);
if (parentPid > 0) {
  setInterval(() => {
    try {
      process.kill(parentPid, 0);
    } catch {
      shutdown(`parent ${parentPid} gone`);
    }
  }, 1_000).unref();
}

server.listen(Number(env['PORT'] ?? 0), env['HOST'] ?? '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(
    `${id.revision} (${id.image}) listening on http://127.0.0.1:${port} knobs=${JSON.stringify(knobs)}`,
  );
  process.send?.({ type: 'listening', port });
});
