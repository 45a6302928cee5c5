import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppsBackend, ServersBackend } from '../backend';
import { ensureCa } from '../certs';
import { admin } from './admin';
import { containerApps, renderApp, sync } from './containerApps';
import { type Ctx, type Env, type Reply, Serial } from './context';
import { ArmError, badRequest, codeForStatus, noRoute } from './errors';
import { Faults } from './faults';
import { flexibleServers, removeServer, renderServer, serverSpec } from './flexibleServers';
import { Operations, RESULT_KINDS, STATUS_KINDS } from './lro';
import { resourceGroups } from './resourceGroups';
import { key, Store } from './store';

export interface ArmEmulatorOptions {
  /** Holds `arm-state.json`, `ca.pem` and the server certificate. */
  dataDir: string;
  /** 0 = ephemeral. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  subscriptionId: string;
  apps: AppsBackend;
  servers: ServersBackend;
  /** How long async operations report InProgress at least; default 300. */
  lroDelayMs?: number;
}

export interface ArmEmulator {
  url: string;
  port: number;
  caPem: string;
  /** Stops serving and waits for running operations; the backends stay up (their owner closes them). */
  close(): Promise<void>;
}

/** The api-versions the pinned SDKs send (arm-appcontainers 3.0.0, arm-postgresql-flexible 9.0.0). */
export const API_VERSIONS: Record<string, string> = {
  'microsoft.app': '2025-07-01',
  'microsoft.dbforpostgresql': '2025-08-01',
};

const PROVIDERS: Record<string, Record<string, typeof containerApps>> = {
  'microsoft.app': { containerapps: containerApps },
  'microsoft.dbforpostgresql': { flexibleservers: flexibleServers },
};

// POSTs that only read; they are not mutations.
const READ_ACTIONS = new Set(['listsecrets']);

export async function startArmEmulator(opts: ArmEmulatorOptions): Promise<ArmEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const tls = ensureCa(opts.dataDir);
  const store = new Store(opts.dataDir);
  const serial = new Serial();
  const ops = new Operations(store, serial, opts.lroDelayMs ?? 300, API_VERSIONS);
  const env: Env = {
    store,
    ops,
    serial,
    apps: opts.apps,
    servers: opts.servers,
    subscriptionId: opts.subscriptionId,
  };
  const faults = new Faults();
  ops.failOrphans();
  await reconcile(env);

  const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    handle(env, faults, req, res).catch((e) => {
      console.error('[arm] unhandled', e);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `https://${host}:${port}`;
  ops.baseUrl = url;
  return {
    url,
    port,
    caPem: tls.caPem,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await serial.idle();
      store.save();
    },
  };
}

async function handle(env: Env, faults: Faults, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://emulator');
  const method = (req.method ?? 'GET').toUpperCase();
  const raw = await readBody(req);
  let reply: Reply;
  if (url.pathname.startsWith('/_sandbox/')) {
    reply = await guard(() => admin(env, faults, method, url, raw));
  } else {
    reply = await guard(() => arm(env, faults, method, url, raw, req.headers.authorization));
    const segments = url.pathname.split('/').filter(Boolean);
    const last = segments.at(-1)?.toLowerCase() ?? '';
    const isOperation =
      segments[2]?.toLowerCase() === 'providers' && segments[4]?.toLowerCase() === 'locations';
    if (method !== 'GET' && !READ_ACTIONS.has(last) && !isOperation) {
      env.store.record({
        method,
        path: url.pathname,
        resourceId: method === 'POST' ? `/${segments.slice(0, -1).join('/')}` : url.pathname,
        status: reply.status,
        body: parseOrNull(raw),
      });
    }
  }
  send(res, reply);
}

async function guard(fn: () => Promise<Reply>): Promise<Reply> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ArmError) return { status: e.status, body: e.body, headers: e.headers };
    console.error('[arm] internal error', e);
    return {
      status: 500,
      body: { error: { code: 'InternalServerError', message: e instanceof Error ? e.message : String(e) } },
    };
  }
}

async function arm(
  env: Env,
  faults: Faults,
  method: string,
  url: URL,
  raw: string,
  auth: string | undefined,
): Promise<Reply> {
  if (!auth || !/^Bearer\s+\S+/i.test(auth)) {
    return {
      status: 401,
      headers: { 'WWW-Authenticate': 'Bearer authorization_uri="https://login.microsoftonline.com/common"' },
      body: {
        error: {
          code: 'AuthenticationFailed',
          message: "Authentication failed. The 'Authorization' header is missing or is not a Bearer token.",
        },
      },
    };
  }
  const path = url.pathname;
  const fault = faults.take('call', method, path);
  if (fault?.latencyMs) await sleep(fault.latencyMs);
  if (fault?.status) {
    throw new ArmError(
      fault.status,
      fault.code ?? codeForStatus(fault.status),
      fault.message ?? `Injected fault (${fault.status}) from the sandbox emulator.`,
      fault.retryAfterSeconds !== undefined ? { 'Retry-After': String(fault.retryAfterSeconds) } : {},
    );
  }

  const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
  const lower = segments.map((s) => s.toLowerCase());
  if (lower[0] !== 'subscriptions' || segments[1] === undefined) throw noRoute(path);
  if (lower[1] !== env.subscriptionId.toLowerCase()) {
    throw new ArmError(404, 'SubscriptionNotFound', `The subscription '${segments[1]}' could not be found.`);
  }
  let body: unknown;
  try {
    body = raw === '' ? undefined : JSON.parse(raw);
  } catch (e) {
    throw badRequest(
      'InvalidRequestContent',
      `The request content is not valid JSON: ${(e as Error).message}`,
    );
  }
  let lroTaken = false;
  const ctx: Ctx = {
    env,
    method,
    segments,
    lower,
    query: url.searchParams,
    body,
    lroFault: () => {
      if (lroTaken) return false;
      lroTaken = true;
      return faults.take('lro', method, path) !== undefined;
    },
  };

  // /subscriptions/{sub}/providers/{ns}/locations/{loc}/{statusKind|resultKind}/{id}
  if (lower[2] === 'providers' && lower[4] === 'locations' && segments.length === 8) {
    return operation(env, lower[6]!, segments[7]!);
  }
  const apiVersion = url.searchParams.get('api-version');
  if (!apiVersion) {
    throw badRequest(
      'MissingApiVersionParameter',
      'The api-version query parameter (?api-version=) is required for all requests.',
    );
  }
  if (lower[2] !== 'resourcegroups') throw noRoute(path);
  if (segments.length <= 4) return resourceGroups(ctx, segments[3]);
  const rg = segments[3]!;
  if (lower[4] !== 'providers' || segments.length < 7) throw noRoute(path);
  const ns = lower[5]!;
  const handler = PROVIDERS[ns]?.[lower[6]!];
  if (!handler) throw noRoute(path);
  if (apiVersion !== API_VERSIONS[ns]) {
    throw badRequest(
      'NoRegisteredProviderFound',
      `No registered resource provider found for API version '${apiVersion}' and type '${segments[6]}' in the sandbox emulator. The supported api-versions are '${API_VERSIONS[ns]}'.`,
    );
  }
  return handler(ctx, rg, segments.slice(7), lower.slice(7));
}

async function operation(env: Env, kind: string, id: string): Promise<Reply> {
  const op = env.ops.get(id);
  if (!op) throw new ArmError(404, 'OperationNotFound', `Operation '${id}' was not found.`);
  const status = env.ops.status(op);
  if (STATUS_KINDS.has(kind)) {
    return {
      status: 200,
      body: env.ops.statusBody(op),
      headers: status === 'InProgress' ? env.ops.pollHeaders(op) : {},
    };
  }
  if (!RESULT_KINDS.has(kind)) throw noRoute(kind);
  if (status === 'InProgress') {
    return { status: 202, headers: { Location: env.ops.url(op, 'result'), ...env.ops.pollHeaders(op) } };
  }
  if (status === 'Failed') {
    return {
      status: 500,
      body: { error: op.error ?? { code: 'OperationFailed', message: 'The operation failed.' } },
    };
  }
  if (op.returns === 'resource') {
    const app = env.store.state.apps[key(op.resourceId)];
    if (app) return { status: 200, body: await renderApp(env, app) };
    const server = env.store.state.servers[key(op.resourceId)];
    if (server) return { status: 200, body: await renderServer(env, server) };
  }
  return { status: 204 };
}

/**
 * Brings the backends to what the documents say after a (re)start: every active revision runs,
 * every ingress splits by its weights, every Ready server runs. Operations that were cut off
 * mid-way are finished here in the direction the document points.
 */
async function reconcile(env: Env): Promise<void> {
  const { state } = env.store;
  const apps = Object.values(state.apps).map((app) =>
    env.serial.run(key(app.id), async () => {
      if (app.provisioningState === 'Deleting') {
        for (const r of app.revisions) await env.apps.stopRevision(r.name);
        delete state.apps[key(app.id)];
        return;
      }
      try {
        await sync(env, app);
        if (app.provisioningState === 'InProgress') app.provisioningState = 'Succeeded';
      } catch (e) {
        if (app.provisioningState === 'InProgress') app.provisioningState = 'Failed';
        console.error(`[arm] could not restore container app ${app.name}:`, (e as Error).message);
      }
    }),
  );
  const servers = Object.values(state.servers).map((doc) =>
    env.serial.run(key(doc.id), async () => {
      try {
        if (doc.transient === 'Dropping') return await removeServer(env, doc);
        const target =
          doc.transient === 'Stopping' || (!doc.transient && doc.state === 'Stopped') ? 'Stopped' : 'Ready';
        const known = env.servers.state(doc.name);
        if (target === 'Ready') {
          // A restore cut off mid-way is redone as a restore, never as an empty new server.
          const rt = known
            ? await env.servers.start(doc.name)
            : doc.restoredFrom
              ? await env.servers.restore(
                  doc.name,
                  doc.restoredFrom.sourceName,
                  new Date(doc.restoredFrom.pointInTimeUTC),
                )
              : await env.servers.create(serverSpec(doc));
          doc.port = rt.port;
          doc.state = 'Ready';
        } else {
          if (known && known.state !== 'Stopped') await env.servers.stop(doc.name);
          doc.state = 'Stopped';
        }
      } catch (e) {
        console.error(`[arm] could not restore flexible server ${doc.name}:`, (e as Error).message);
      } finally {
        delete doc.transient;
      }
    }),
  );
  await Promise.all([...apps, ...servers]);
  env.store.save();
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseOrNull(raw: string): unknown {
  try {
    return raw === '' ? null : JSON.parse(raw);
  } catch {
    return raw;
  }
}

function send(res: ServerResponse, reply: Reply): void {
  const id = randomUUID();
  const headers: Record<string, string> = {
    'x-ms-request-id': id,
    'x-ms-correlation-request-id': id,
    ...reply.headers,
  };
  if (reply.body === undefined) {
    res.writeHead(reply.status, { ...headers, 'Content-Length': '0' });
    res.end();
    return;
  }
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}
