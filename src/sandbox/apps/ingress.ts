// One app's ingress: a reverse proxy that sends each request to a revision drawn at random by
// the current traffic weights, as Container Apps' Envoy does, and keeps per-revision metrics.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TrafficTarget } from '../backend';
import { IngressMetrics } from './metrics';

export interface IngressOptions {
  app: string;
  port?: number;
  host?: string;
  /** Direct port of a revision that can take traffic now, else undefined. */
  portOf(revision: string): number | undefined;
  /** Container Apps' ingress gives up after 240 s; tests may shorten it. */
  upstreamTimeoutMs?: number;
}

const hopByHop = ['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer'];

function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: http.OutgoingHttpHeaders = {},
) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export class Ingress {
  readonly metrics: IngressMetrics;
  private weights = new Map<string, number>();
  private server: http.Server | undefined;
  private listening: Promise<{ url: string; port: number }> | undefined;
  // Keep-alive to revisions: without it a burst of requests exhausts ephemeral ports.
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 128 });

  constructor(private readonly opts: IngressOptions) {
    this.metrics = new IngressMetrics(opts.app);
  }

  setTraffic(targets: TrafficTarget[]): void {
    this.weights = new Map(targets.map((t) => [t.revisionName, t.weight]));
  }

  traffic(): TrafficTarget[] {
    return [...this.weights].map(([revisionName, weight]) => ({ revisionName, weight }));
  }

  /** A revision drawn by weight among those running with weight > 0. */
  pick(random: () => number = Math.random): { revision: string; port: number } | undefined {
    const live: { revision: string; port: number; weight: number }[] = [];
    let total = 0;
    for (const [revision, weight] of this.weights) {
      const port = weight > 0 ? this.opts.portOf(revision) : undefined;
      if (port === undefined) continue;
      live.push({ revision, port, weight });
      total += weight;
    }
    let r = random() * total;
    for (const c of live) {
      r -= c.weight;
      if (r < 0) return { revision: c.revision, port: c.port };
    }
    const last = live[live.length - 1];
    return last && { revision: last.revision, port: last.port };
  }

  start(): Promise<{ url: string; port: number }> {
    this.listening ??= new Promise((resolve, reject) => {
      const server = http.createServer((req, res) => this.handle(req, res));
      server.keepAliveTimeout = 30_000;
      const host = this.opts.host ?? '127.0.0.1';
      server.once('error', (err: NodeJS.ErrnoException) => {
        this.listening = undefined;
        reject(
          err.code === 'EADDRINUSE'
            ? new Error(`ingress for ${this.opts.app}: port ${this.opts.port} is already in use`)
            : err,
        );
      });
      server.listen(this.opts.port ?? 0, host, () => {
        this.server = server;
        const { port } = server.address() as AddressInfo;
        resolve({ url: `http://${host}:${port}`, port });
      });
    });
    return this.listening;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.listening = undefined;
    this.agent.destroy();
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      const text = this.metrics.render(this.weights);
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(text);
      return;
    }
    const t0 = performance.now();
    const target = this.pick();
    if (!target) {
      this.metrics.recordUnrouted();
      sendJson(res, 503, {
        error: {
          code: 'NoActiveRevision',
          message: `No running revision of ${this.opts.app} has traffic weight; weights: ${JSON.stringify(this.traffic())}`,
        },
      });
      return;
    }
    const { revision, port } = target;
    res.on('finish', () => this.metrics.record(revision, res.statusCode, (performance.now() - t0) / 1000));

    const headers: http.OutgoingHttpHeaders = { ...req.headers };
    for (const h of hopByHop) delete headers[h];
    const prior = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = prior ? `${prior}, ${req.socket.remoteAddress}` : req.socket.remoteAddress;
    headers['x-forwarded-proto'] = 'http';
    if (req.headers.host) headers['x-forwarded-host'] = req.headers.host;

    const upstream = http.request(
      { host: '127.0.0.1', port, method: req.method, path: req.url, headers, agent: this.agent },
      (up) => {
        const out: http.OutgoingHttpHeaders = { ...up.headers, 'x-sandbox-revision': revision };
        for (const h of hopByHop) delete out[h];
        res.writeHead(up.statusCode ?? 502, out);
        up.pipe(res);
        up.on('error', () => res.destroy());
      },
    );
    upstream.setTimeout(this.opts.upstreamTimeoutMs ?? 240_000, () =>
      upstream.destroy(Object.assign(new Error('upstream timeout'), { code: 'ETIMEDOUT' })),
    );
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const timeout = err.code === 'ETIMEDOUT';
      sendJson(
        res,
        timeout ? 504 : 502,
        {
          error: { code: timeout ? 'UpstreamTimeout' : 'BadGateway', message: `${revision}: ${err.message}` },
        },
        { 'x-sandbox-revision': revision },
      );
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }
}
