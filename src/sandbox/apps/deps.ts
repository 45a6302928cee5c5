// The sandbox app's dependencies, checked for real: PostgreSQL through `pg`, Redis with a RESP
// PING over a socket, and the LLM provider through its chat endpoint behind a circuit breaker.
import net from 'node:net';
import tls from 'node:tls';
import { Pool } from 'pg';
import { isLlmProvider, type LlmProvider, llmChatPath } from '../llm';
import { Circuit, type CircuitSnapshot } from './circuit';

export interface DepStatus {
  status: 'ok' | 'down' | 'unconfigured';
  /** host:port[/db]; never credentials. */
  server?: string;
  latencyMs?: number;
  error?: string;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}

/** `host:port/db` of a connection URL, so /health can say where it looked without the password. */
export function serverOf(url: string, defaultPort: number): string {
  try {
    const u = new URL(url);
    const db = u.pathname.replace(/^\//, '');
    const host = u.hostname || u.searchParams.get('host') || 'localhost';
    return `${host}:${u.port || defaultPort}${db ? `/${decodeURIComponent(db)}` : ''}`;
  } catch {
    return 'unparseable URL';
  }
}

export class Database {
  readonly server: string;
  private readonly pool: Pool;

  constructor(url: string) {
    this.server = serverOf(url, 5432);
    this.pool = new Pool({
      connectionString: url,
      max: 5,
      idleTimeoutMillis: 10_000,
      connectionTimeoutMillis: 2_000,
      query_timeout: 5_000,
    });
    // An idle client dies when the server restarts (stop/start, restore); the pool replaces it.
    this.pool.on('error', () => {});
  }

  query<T extends Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.pool.query(sql, params).then((r) => r.rows as T[]);
  }

  async check(): Promise<DepStatus> {
    const t0 = performance.now();
    try {
      await this.pool.query('SELECT 1');
      return { status: 'ok', server: this.server, latencyMs: Math.round(performance.now() - t0) };
    } catch (err) {
      return {
        status: 'down',
        server: this.server,
        latencyMs: Math.round(performance.now() - t0),
        error: message(err),
      };
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

function resp(args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** AUTH (when the URL has a password) then PING; ok only on +PONG. */
export function redisPing(url: string, timeoutMs = 1_000): Promise<DepStatus> {
  const t0 = performance.now();
  const server = serverOf(url, 6379).replace(/\/.*$/, '');
  const done = (status: DepStatus['status'], error?: string): DepStatus => {
    const s: DepStatus = { status, server, latencyMs: Math.round(performance.now() - t0) };
    if (error) s.error = error;
    return s;
  };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return Promise.resolve(done('down', 'REDIS_URL is not a URL'));
  }
  const host = u.hostname || '127.0.0.1';
  const port = Number(u.port || 6379);
  const commands: string[][] = [];
  if (u.password) {
    const pw = decodeURIComponent(u.password);
    commands.push(u.username ? ['AUTH', decodeURIComponent(u.username), pw] : ['AUTH', pw]);
  }
  commands.push(['PING']);
  return new Promise((resolve) => {
    const socket =
      u.protocol === 'rediss:' ? tls.connect({ host, port, servername: host }) : net.connect({ host, port });
    let buf = '';
    let replies = 0;
    const finish = (s: DepStatus): void => {
      socket.destroy();
      resolve(s);
    };
    socket.setTimeout(timeoutMs, () => finish(done('down', `no answer within ${timeoutMs} ms`)));
    socket.on('error', (err) => finish(done('down', message(err))));
    socket.on('connect', () => socket.write(commands.map(resp).join('')));
    socket.on('data', (d) => {
      buf += d.toString('utf8');
      for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (line.startsWith('-')) return finish(done('down', line.slice(1)));
        if (++replies === commands.length) {
          return finish(line === '+PONG' ? done('ok') : done('down', `unexpected reply ${line}`));
        }
      }
    });
  });
}

export class LlmUnavailable extends Error {
  override name = 'LlmUnavailable';
}

export interface LlmOptions {
  provider: string;
  baseUrl?: string;
  timeoutMs: number;
  failureThreshold: number;
  openMs: number;
}

export interface LlmSnapshot extends CircuitSnapshot {
  provider: string;
  status: 'ok' | 'degraded' | 'unconfigured';
}

function body(provider: LlmProvider, prompt: string, maxTokens: number): unknown {
  const messages = [{ role: 'user', content: prompt }];
  switch (provider) {
    case 'azure-openai':
      return { messages, max_tokens: maxTokens };
    case 'anthropic':
      return { model: 'claude-3-5-haiku-20241022', max_tokens: maxTokens, messages };
    case 'bedrock':
      return { anthropic_version: 'bedrock-2023-05-31', max_tokens: maxTokens, messages };
  }
}

function textOf(json: unknown): string {
  const j = json as { choices?: { message?: { content?: unknown } }[]; content?: { text?: unknown }[] };
  const t = j.choices?.[0]?.message?.content ?? j.content?.[0]?.text;
  if (typeof t !== 'string') throw new Error('provider answered without text');
  return t;
}

export class Llm {
  readonly circuit: Circuit;
  private readonly provider: LlmProvider | undefined;

  constructor(private readonly opts: LlmOptions) {
    this.provider = isLlmProvider(opts.provider) ? opts.provider : undefined;
    this.circuit = new Circuit({ failureThreshold: opts.failureThreshold, openMs: opts.openMs });
  }

  get configured(): boolean {
    return this.provider !== undefined && !!this.opts.baseUrl;
  }

  /** One call through the circuit: refused at once while open, counted either way otherwise. */
  async chat(prompt: string, maxTokens = 512): Promise<string> {
    const provider = this.provider;
    if (!provider || !this.opts.baseUrl) {
      throw new LlmUnavailable(
        `LLM not configured (LLM_PROVIDER=${this.opts.provider}, LLM_BASE_URL unset?)`,
      );
    }
    if (!this.circuit.tryAcquire()) throw new LlmUnavailable(`circuit ${this.circuit.state} for ${provider}`);
    try {
      const res = await fetch(new URL(llmChatPath(provider), this.opts.baseUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body(provider, prompt, maxTokens)),
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`HTTP ${res.status} ${text.slice(0, 200)}`);
      const out = textOf(JSON.parse(text));
      this.circuit.success();
      return out;
    } catch (err) {
      const msg =
        err instanceof Error && err.name === 'TimeoutError'
          ? `timeout after ${this.opts.timeoutMs} ms`
          : message(err);
      this.circuit.failure(msg);
      throw new LlmUnavailable(msg);
    }
  }

  snapshot(): LlmSnapshot {
    const c = this.circuit.snapshot();
    const status = !this.configured ? 'unconfigured' : c.circuit === 'closed' ? 'ok' : 'degraded';
    return { provider: this.opts.provider, status, ...c };
  }
}
