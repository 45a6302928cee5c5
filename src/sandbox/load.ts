// A light steady load through the sandbox ingress, so metrics, canary analysis and dashboards
// have real traffic to read while `npm run sandbox` runs.
import http from 'node:http';

export interface LoadOptions {
  /** Base URL, e.g. the app's ingress. */
  url: string;
  /** Requests per second (default 2). */
  rps?: number;
  /** Rotated in order; `POST /path` sends a small JSON body. */
  paths?: string[];
  /** Requests in flight at most; ticks beyond it are skipped, not queued. */
  concurrency?: number;
  timeoutMs?: number;
}

export interface LoadStats {
  sent: number;
  completed: number;
  /** Network errors and timeouts (no HTTP status). */
  errors: number;
  skipped: number;
  byStatus: Record<string, number>;
  byRevision: Record<string, number>;
}

export interface Load {
  stop(): Promise<void>;
  stats(): LoadStats;
}

export const defaultLoadPaths = [
  'GET /api/v1/conversations',
  'GET /api/v1/reviews/due',
  'GET /api/v1/conversations',
  'POST /api/v1/chat',
  'GET /health',
];

export function startLoad(opts: LoadOptions): Load {
  const rps = opts.rps ?? 2;
  if (!(rps > 0)) throw new Error(`rps must be > 0, got ${rps}`);
  const paths = opts.paths?.length ? opts.paths : defaultLoadPaths;
  const limit = opts.concurrency ?? 4;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const agent = new http.Agent({ keepAlive: true, maxSockets: limit });
  const stats: LoadStats = { sent: 0, completed: 0, errors: 0, skipped: 0, byStatus: {}, byRevision: {} };
  const inflight = new Set<Promise<void>>();
  let next = 0;

  const fire = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const spec = paths[next++ % paths.length] ?? '/';
      const [method, p] = spec.includes(' ') ? (spec.split(' ', 2) as [string, string]) : ['GET', spec];
      const body =
        method === 'POST'
          ? JSON.stringify({ message: 'How do I say "nice to meet you" politely?' })
          : undefined;
      const headers: http.OutgoingHttpHeaders = body
        ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
        : {};
      stats.sent++;
      const req = http.request(
        new URL(p, opts.url),
        { method, headers, agent, timeout: timeoutMs },
        (res) => {
          res.resume();
          res.on('end', () => {
            stats.completed++;
            const code = String(res.statusCode);
            stats.byStatus[code] = (stats.byStatus[code] ?? 0) + 1;
            const rev = res.headers['x-sandbox-revision'];
            if (typeof rev === 'string') stats.byRevision[rev] = (stats.byRevision[rev] ?? 0) + 1;
            resolve();
          });
          res.on('error', () => {
            stats.errors++;
            resolve();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        stats.errors++;
        resolve();
      });
      req.end(body);
    });

  const timer = setInterval(() => {
    if (inflight.size >= limit) {
      stats.skipped++;
      return;
    }
    const p = fire().finally(() => inflight.delete(p));
    inflight.add(p);
  }, 1000 / rps);

  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(inflight);
      agent.destroy();
    },
    stats: () => structuredClone(stats),
  };
}
