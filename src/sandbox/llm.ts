// LLM provider stubs for the sandbox: one HTTP server answering the chat endpoints of Azure
// OpenAI, Anthropic and Bedrock in their own response shapes, with per-provider health and
// latency that tests and operators flip to stage an outage (admin: POST /_sandbox/providers/<name>).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const llmProviders = ['azure-openai', 'anthropic', 'bedrock'] as const;
export type LlmProvider = (typeof llmProviders)[number];

export interface ProviderSettings {
  healthy: boolean;
  latencyMs: number;
}

export interface ProviderStatus extends ProviderSettings {
  requests: number;
  failures: number;
}

export interface LlmStubs {
  url: string;
  port: number;
  setProvider(name: LlmProvider, settings: Partial<ProviderSettings>): void;
  providers(): Record<LlmProvider, ProviderStatus>;
  close(): Promise<void>;
}

/** Path of a provider's chat endpoint under the stub's base URL (the sandbox app calls these). */
export function llmChatPath(provider: LlmProvider): string {
  switch (provider) {
    case 'azure-openai':
      return '/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21';
    case 'anthropic':
      return '/v1/messages';
    case 'bedrock':
      return '/model/anthropic.claude-3-5-haiku-20241022-v1:0/invoke';
  }
}

export function isLlmProvider(name: string): name is LlmProvider {
  return (llmProviders as readonly string[]).includes(name);
}

function route(method: string, path: string): LlmProvider | undefined {
  if (method !== 'POST') return undefined;
  if (/^\/openai\/deployments\/[^/]+\/chat\/completions$/.test(path)) return 'azure-openai';
  if (path === '/v1/messages') return 'anthropic';
  if (/^\/model\/[^/]+\/invoke$/.test(path)) return 'bedrock';
  return undefined;
}

function reply(provider: LlmProvider, prompt: string): unknown {
  const text = `Sandbox ${provider} reply to: ${prompt.slice(0, 200)}`;
  const usage = { input: Math.ceil(prompt.length / 4), output: Math.ceil(text.length / 4) };
  switch (provider) {
    case 'azure-openai':
      return {
        id: `chatcmpl-${Date.now()}`,
        object: 'chat.completion',
        model: 'gpt-4o-mini',
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: text } }],
        usage: {
          prompt_tokens: usage.input,
          completion_tokens: usage.output,
          total_tokens: usage.input + usage.output,
        },
      };
    case 'anthropic':
    case 'bedrock':
      return {
        id: `msg_${Date.now()}`,
        type: 'message',
        role: 'assistant',
        model: 'claude-3-5-haiku-20241022',
        content: [{ type: 'text', text }],
        stop_reason: 'end_turn',
        usage: { input_tokens: usage.input, output_tokens: usage.output },
      };
  }
}

/** Each provider fails the way it does in production, so clients see realistic errors. */
function outage(provider: LlmProvider): { status: number; body: unknown } {
  switch (provider) {
    case 'azure-openai':
      return {
        status: 503,
        body: {
          error: {
            code: 'ServiceUnavailable',
            message: 'The service is temporarily unable to process your request.',
          },
        },
      };
    case 'anthropic':
      return {
        status: 529,
        body: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
      };
    case 'bedrock':
      return {
        status: 503,
        body: { message: 'ServiceUnavailableException: Bedrock is unable to process your request.' },
      };
  }
}

/** The last user message of any of the three request shapes. */
function promptOf(body: unknown): string {
  const messages = (body as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(messages)) return '';
  const last = messages[messages.length - 1] as { content?: unknown } | undefined;
  const c = last?.content;
  if (typeof c === 'string') return c;
  if (Array.isArray(c))
    return c
      .map((p) => (p as { text?: unknown }).text)
      .filter((t) => typeof t === 'string')
      .join(' ');
  return '';
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  return raw ? JSON.parse(raw) : {};
}

export async function startLlmStubs(opts: { port?: number; host?: string } = {}): Promise<LlmStubs> {
  const state = Object.fromEntries(
    llmProviders.map((p) => [p, { healthy: true, latencyMs: 150, requests: 0, failures: 0 }]),
  ) as Record<LlmProvider, ProviderStatus>;
  // Pending simulated latencies, released on close so no handler is left hanging.
  const waits = new Map<NodeJS.Timeout, () => void>();

  const setProvider = (name: LlmProvider, s: Partial<ProviderSettings>): void => {
    if (s.healthy !== undefined) state[name].healthy = s.healthy;
    if (s.latencyMs !== undefined) state[name].latencyMs = Math.max(0, s.latencyMs);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://stub');
    const method = req.method ?? 'GET';
    if (url.pathname === '/_sandbox/providers' && method === 'GET') return send(res, 200, state);
    const admin = /^\/_sandbox\/providers\/([^/]+)$/.exec(url.pathname);
    if (admin && method === 'POST') {
      const name = decodeURIComponent(admin[1] ?? '');
      if (!isLlmProvider(name)) return send(res, 404, { error: `unknown provider ${name}` });
      const body = (await readJson(req)) as Partial<Record<keyof ProviderSettings, unknown>>;
      if (
        (body.healthy !== undefined && typeof body.healthy !== 'boolean') ||
        (body.latencyMs !== undefined && (typeof body.latencyMs !== 'number' || body.latencyMs < 0))
      ) {
        return send(res, 400, { error: 'expected {healthy?: boolean, latencyMs?: number >= 0}' });
      }
      setProvider(name, body as Partial<ProviderSettings>);
      return send(res, 200, { [name]: state[name] });
    }
    const provider = route(method, url.pathname);
    if (!provider) return send(res, 404, { error: `no route ${method} ${url.pathname}` });
    const body = await readJson(req);
    const p = state[provider];
    p.requests++;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        waits.delete(t);
        resolve();
      }, p.latencyMs);
      waits.set(t, resolve);
    });
    if (res.destroyed) return;
    if (!p.healthy) {
      p.failures++;
      const o = outage(provider);
      return send(res, o.status, o.body);
    }
    send(res, 200, reply(provider, promptOf(body)));
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 400, { error: err instanceof Error ? err.message : String(err) });
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    setProvider,
    providers: () => structuredClone(state),
    close: async () => {
      for (const [t, release] of waits) {
        clearTimeout(t);
        release();
      }
      waits.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
