// Container Apps revisions as real processes: each revision is a child process running the
// sandbox FluentEdge app, watched for liveness and polled on /health, behind one weighted
// ingress per app. The ARM emulator drives this through the AppsBackend contract.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type {
  AppsBackend,
  HealthState,
  RevisionRuntimeState,
  RevisionSpec,
  RunningState,
  TrafficTarget,
} from '../backend';
import { defaultImages, type ImageBehaviour, imageEnv } from './images';
import { Ingress } from './ingress';

export type { ImageBehaviour } from './images';

export interface AppsBackendOptions {
  dataDir: string;
  /** Fixed ingress ports by app (the sandbox maps fluentedge-backend → 8080); others are ephemeral. */
  ingressPorts?: Record<string, number>;
  healthPollMs?: number;
  images?: ImageBehaviour[];
  /** Env every revision gets underneath its own (REDIS_URL, LLM_BASE_URL, …). */
  baseEnv?: Record<string, string>;
  /** How long a revision may take to listen before it counts as Failed. */
  startTimeoutMs?: number;
}

interface Revision {
  spec: RevisionSpec;
  child: ChildProcess | undefined;
  state: RunningState;
  health: HealthState;
  port: number | undefined;
  lastHealth: unknown;
  starting: Promise<RevisionRuntimeState> | undefined;
  exited: Promise<void> | undefined;
  stopRequested: boolean;
  poll: NodeJS.Timeout | undefined;
}

// Host variables a Node process needs; nothing else of the sandbox's own env leaks into a
// revision, just as a container sees only its template's env.
const hostVars = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ', 'SYSTEMROOT'];

function appEntry(): { entry: string; execArgv: string[] } {
  const ext = path.extname(__filename);
  const entry = path.join(__dirname, `app${ext}`);
  // Under tsx (tests, `npm run sandbox`) the child needs the loader too; a compiled dist/ does not.
  if (ext === '.ts') return { entry, execArgv: ['--import', pathToFileURL(require.resolve('tsx')).href] };
  return { entry, execArgv: [] };
}

function getHealth(port: number, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: '/health', agent: false, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          let body: unknown = raw;
          try {
            body = JSON.parse(raw);
          } catch {}
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no /health answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

export function createAppsBackend(opts: AppsBackendOptions): AppsBackend {
  const revisions = new Map<string, Revision>();
  const ingresses = new Map<string, Ingress>();
  const pollMs = opts.healthPollMs ?? 1_000;
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;
  const logDir = path.join(opts.dataDir, 'revisions');
  const { entry, execArgv } = appEntry();
  let closed = false;

  // Last resort when the host exits without close(): the children also watch their IPC channel.
  const killAll = () => {
    for (const r of revisions.values()) r.child?.kill('SIGKILL');
  };
  process.on('exit', killAll);

  const snapshot = (r: Revision): RevisionRuntimeState => {
    const s: RevisionRuntimeState = {
      runningState: r.state,
      healthState: r.state === 'Running' ? r.health : 'None',
      replicas: r.state === 'Running' ? 1 : 0,
    };
    if (r.state === 'Running' && r.port !== undefined) s.port = r.port;
    if (r.child?.pid !== undefined && r.child.exitCode === null && r.child.signalCode === null)
      s.pid = r.child.pid;
    if (r.lastHealth !== undefined) s.lastHealth = r.lastHealth;
    return s;
  };

  const log = (name: string, line: string) => {
    fs.appendFileSync(path.join(logDir, `${name}.log`), `[runtime ${new Date().toISOString()}] ${line}\n`);
  };

  const pollOnce = async (r: Revision, child: ChildProcess): Promise<void> => {
    if (r.child !== child || r.state !== 'Running' || r.port === undefined) return;
    try {
      const h = await getHealth(r.port, Math.max(2_000, pollMs));
      if (r.child !== child) return;
      // 200 means the app still serves (healthy or degraded), as a readiness probe reads it.
      r.health = h.status === 200 ? 'Healthy' : 'Unhealthy';
      r.lastHealth = h.body;
    } catch (err) {
      if (r.child !== child) return;
      r.health = 'Unhealthy';
      r.lastHealth = { error: err instanceof Error ? err.message : String(err) };
    }
  };

  const schedulePoll = (r: Revision, child: ChildProcess) => {
    r.poll = setTimeout(async () => {
      await pollOnce(r, child);
      if (r.child === child && r.state === 'Running' && !closed) schedulePoll(r, child);
    }, pollMs);
    r.poll.unref();
  };

  const start = (r: Revision): Promise<RevisionRuntimeState> => {
    const { spec } = r;
    fs.mkdirSync(logDir, { recursive: true });
    log(spec.name, `starting image=${spec.image}`);
    const env: Record<string, string> = {};
    for (const k of hostVars) {
      const v = process.env[k];
      if (v !== undefined) env[k] = v;
    }
    Object.assign(env, opts.baseEnv, imageEnv(spec.image, spec.env, opts.images ?? defaultImages), spec.env, {
      PORT: '0',
      REVISION_NAME: spec.name,
      APP_NAME: spec.app,
      IMAGE: spec.image,
      SANDBOX_PARENT_PID: String(process.pid),
    });
    const out = fs.openSync(path.join(logDir, `${spec.name}.log`), 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...execArgv, entry], { env, stdio: ['ignore', out, out, 'ipc'] });
    } finally {
      fs.closeSync(out);
    }
    r.child = child;
    r.state = 'Activating';
    r.health = 'None';
    r.port = undefined;
    r.lastHealth = undefined;
    r.stopRequested = false;
    r.exited = new Promise((resolve) => child.once('exit', () => resolve()));

    r.starting = new Promise<RevisionRuntimeState>((resolve) => {
      const timer = setTimeout(() => {
        log(spec.name, `did not listen within ${startTimeoutMs} ms; killing`);
        child.kill('SIGKILL');
      }, startTimeoutMs);
      const settle = () => {
        clearTimeout(timer);
        r.starting = undefined;
        resolve(snapshot(r));
      };
      child.on('message', (m: { type?: string; port?: number }) => {
        if (m?.type !== 'listening' || typeof m.port !== 'number' || r.child !== child) return;
        r.port = m.port;
        r.state = 'Running';
        log(spec.name, `listening on 127.0.0.1:${m.port} pid=${child.pid}`);
        // One probe before answering, so the caller sees a real healthState, not None.
        pollOnce(r, child).finally(() => {
          schedulePoll(r, child);
          settle();
        });
      });
      child.once('error', (err) => log(spec.name, `spawn failed: ${err.message}`));
      child.once('exit', (code, signal) => {
        log(spec.name, `exited code=${code} signal=${signal}`);
        if (r.child !== child) return;
        clearTimeout(r.poll);
        r.port = undefined;
        r.health = 'None';
        r.state = r.stopRequested ? 'Stopped' : 'Failed';
        if (r.starting) settle();
      });
    });
    return r.starting;
  };

  const stop = async (r: Revision): Promise<void> => {
    const child = r.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      r.state = 'Stopped';
      r.health = 'None';
      r.port = undefined;
      return;
    }
    r.stopRequested = true;
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await r.exited;
    clearTimeout(kill);
  };

  const ingressOf = (app: string): Ingress => {
    let ing = ingresses.get(app);
    if (!ing) {
      const port = opts.ingressPorts?.[app];
      ing = new Ingress({
        app,
        ...(port !== undefined ? { port } : {}),
        portOf: (name) => {
          const r = revisions.get(name);
          return r?.state === 'Running' ? r.port : undefined;
        },
      });
      ingresses.set(app, ing);
    }
    return ing;
  };

  const backend: AppsBackend = {
    async ensureRevision(spec) {
      if (closed) throw new Error('apps backend is closed');
      let r = revisions.get(spec.name);
      // A stop in progress finishes first; the revision then starts fresh.
      if (r?.stopRequested && r.child?.exitCode === null && r.child.signalCode === null) await r.exited;
      if (r?.starting) return r.starting;
      if (r?.state === 'Running') return snapshot(r);
      if (!r) {
        r = {
          spec,
          child: undefined,
          state: 'Stopped',
          health: 'None',
          port: undefined,
          lastHealth: undefined,
          starting: undefined,
          exited: undefined,
          stopRequested: false,
          poll: undefined,
        };
        revisions.set(spec.name, r);
      }
      r.spec = spec;
      return start(r);
    },

    async stopRevision(name) {
      const r = revisions.get(name);
      if (r) await stop(r);
    },

    async restartRevision(spec) {
      const r = revisions.get(spec.name);
      if (r) await stop(r);
      return backend.ensureRevision(spec);
    },

    revisionState(name) {
      const r = revisions.get(name);
      return r ? snapshot(r) : { runningState: 'Stopped', healthState: 'None', replicas: 0 };
    },

    setTraffic(app, targets: TrafficTarget[]) {
      ingressOf(app).setTraffic(targets);
    },

    ensureIngress(app) {
      if (closed) return Promise.reject(new Error('apps backend is closed'));
      return ingressOf(app).start();
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...ingresses.values()].map((i) => i.close()));
      await Promise.all([...revisions.values()].map(stop));
      process.off('exit', killAll);
    },
  };
  return backend;
}
