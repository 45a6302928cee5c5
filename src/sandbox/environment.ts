import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { createAzureClients } from '../activities/azure';
import { type Config, loadConfig, projectRoot, type SandboxEndpoints } from '../config';
import type { Logger } from '../log';
import { createAppsBackend } from './apps/runtime';
import { startArmEmulator } from './arm/server';
import { startLlmStubs } from './llm';
import { type Load, startLoad } from './load';
import { createServersBackend } from './postgres/servers';
import { type PrometheusServer, startPrometheus } from './prometheus';
import { newPassword, seedNames, seedSandbox } from './seed';
import { type DevServer, startDevServer } from './temporal';

// The whole rehearsal environment in one call, for `npm run sandbox` and for e2e tests:
// Temporal dev server → LLM stubs → app runtime + PostgreSQL clusters → ARM emulator → seeded
// estate through the real SDK → endpoints.json → worker (a child process, as in production).

export interface SandboxPorts {
  temporal: number;
  ui: number;
  arm: number;
  ingress: number;
  llm: number;
  /** Prometheus (when its binary is found); 0 or unset = any free port. */
  prometheus?: number;
}

export const defaultPorts: SandboxPorts = {
  temporal: 7233,
  ui: 8233,
  arm: 8443,
  ingress: 8080,
  llm: 8090,
  prometheus: 9090,
};
export const ephemeralPorts: SandboxPorts = { temporal: 0, ui: 0, arm: 0, ingress: 0, llm: 0, prometheus: 0 };

export interface SandboxOptions {
  dataDir: string;
  ports: SandboxPorts;
  reset?: boolean;
  /** The dev server's Web UI; tests run headless. */
  ui?: boolean;
  worker?: boolean;
  /** Requests per second of steady background load through the ingress; 0 = none. */
  loadRps?: number;
  backupIntervalMs?: number;
  redisUrl?: string;
  /** Start Prometheus scraping the ingress when the binary is found (default true). */
  prometheus?: boolean;
  log: Logger;
}

export interface Sandbox {
  endpoints: SandboxEndpoints;
  endpointsFile: string;
  config: Config;
  /** Env for child processes (CLI, worker) that should talk to this sandbox. */
  env: NodeJS.ProcessEnv;
  /** The worker process, when one runs. */
  readonly worker: ChildProcess | undefined;
  /** Start a (new) worker process, e.g. after a test killed the previous one. */
  startWorker(): Promise<ChildProcess>;
  close(): Promise<void>;
}

interface Persistent {
  subscriptionId: string;
  adminPassword: string;
}

/** PostgreSQL runs as an unprivileged user, which must be able to walk down to its data dir. */
function openPath(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (let d = path.resolve(dir); d !== path.dirname(d); d = path.dirname(d)) {
    if (d === projectRoot || d === '/tmp') break;
    try {
      chmodSync(d, 0o755);
    } catch {
      break;
    }
  }
}

function persistent(dataDir: string): Persistent {
  const file = path.join(dataDir, 'sandbox.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Persistent;
  const fresh = { subscriptionId: randomUUID(), adminPassword: newPassword() };
  writeFileSync(file, JSON.stringify(fresh, null, 2), { mode: 0o600 });
  return fresh;
}

function startWorker(env: NodeJS.ProcessEnv, logFile: string, log: Logger): Promise<ChildProcess> {
  const entry = path.join(projectRoot, 'src', 'worker.ts');
  const child = spawn(process.execPath, ['--import', require.resolve('tsx'), entry], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = createWriteStream(logFile, { flags: 'a' });
  child.stdout?.pipe(out);
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(
      () => reject(new Error(`worker not started after 90 s (see ${logFile})`)),
      90_000,
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      out.write(chunk);
      buffer += chunk.toString();
      if (buffer.includes('"worker started"')) {
        clearTimeout(timer);
        buffer = '';
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      log.warn('worker exited', { code });
      reject(new Error(`worker exited with ${code} (see ${logFile})`));
    });
  });
}

export async function startSandbox(o: SandboxOptions): Promise<Sandbox> {
  if (o.reset) rmSync(o.dataDir, { recursive: true, force: true });
  openPath(o.dataDir);
  const { subscriptionId, adminPassword } = persistent(o.dataDir);
  const redisUrl = o.redisUrl ?? 'redis://127.0.0.1:6379';
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) {
      await c().catch((err) => o.log.warn('close failed', { error: String(err) }));
    }
    closers.length = 0;
  };

  try {
    const temporal: DevServer = await startDevServer({
      port: o.ports.temporal,
      ...(o.ports.ui ? { uiPort: o.ports.ui } : {}),
      headless: o.ui === false,
      dbFile: path.join(o.dataDir, 'temporal.db'),
      logFile: path.join(o.dataDir, 'temporal.log'),
    });
    closers.push(() => temporal.stop());
    o.log.info('temporal dev server up', { address: temporal.address, ui: temporal.uiUrl });

    const llm = await startLlmStubs({ port: o.ports.llm });
    closers.push(() => llm.close());

    const apps = createAppsBackend({
      dataDir: o.dataDir,
      ingressPorts: { [seedNames.app]: o.ports.ingress },
      baseEnv: { REDIS_URL: redisUrl, LLM_BASE_URL: llm.url },
    });
    closers.push(() => apps.close());
    const servers = createServersBackend({
      dataDir: o.dataDir,
      // A restored server's first backup waits out the verification and cutover that follow.
      firstBackupDelayMs: 10_000,
      ...(o.backupIntervalMs ? { backupIntervalMs: o.backupIntervalMs } : {}),
    });
    closers.push(() => servers.close());

    const arm = await startArmEmulator({
      dataDir: o.dataDir,
      port: o.ports.arm,
      subscriptionId,
      apps,
      servers,
    });
    closers.push(() => arm.close());
    const caFile = path.join(o.dataDir, 'ca.pem');
    o.log.info('ARM emulator up', { url: arm.url });

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      RUNBOOK_TARGET: 'sandbox',
      TEMPORAL_ADDRESS: temporal.address,
      AZURE_SUBSCRIPTION_ID: subscriptionId,
      AZURE_RESOURCE_GROUP: seedNames.resourceGroup,
      ARM_ENDPOINT: arm.url,
      ARM_CA_FILE: caFile,
      SANDBOX_ENDPOINTS_FILE: path.join(o.dataDir, 'endpoints.json'),
    };
    const config = loadConfig(env);
    const azure = createAzureClients(config);
    const seeded = await seedSandbox(azure, {
      armUrl: arm.url,
      caPem: arm.caPem,
      subscriptionId,
      adminPassword,
      redisUrl,
      llmBaseUrl: llm.url,
    });
    if (seeded.created.length) o.log.info('seeded', { created: seeded.created });
    const ingress = await apps.ensureIngress(seedNames.app);

    // Optional: absent binary → no Prometheus, and the `probe` analysis provider still works.
    let prometheus: PrometheusServer | undefined;
    if (o.prometheus !== false) {
      prometheus = await startPrometheus({
        dataDir: o.dataDir,
        port: o.ports.prometheus ?? 0,
        targets: [new URL(ingress.url).host],
      });
      if (prometheus) {
        const p = prometheus;
        closers.push(() => p.close());
        env.PROMETHEUS_URL = p.url;
        o.log.info('prometheus up', { url: p.url });
      } else {
        o.log.info('prometheus not found (PROMETHEUS_PATH or PATH); the probe analysis provider still works');
      }
    }

    const endpoints: SandboxEndpoints = {
      subscriptionId,
      resourceGroup: seedNames.resourceGroup,
      armUrl: arm.url,
      caFile,
      adminUrl: `${arm.url}/_sandbox`,
      temporal: { address: temporal.address, uiUrl: temporal.uiUrl ?? '', namespace: 'default' },
      ingress: { [seedNames.app]: ingress.url },
      llmUrl: llm.url,
      ...(prometheus ? { prometheusUrl: prometheus.url } : {}),
      redisUrl,
      postgres: {
        [seedNames.server]: {
          host: '127.0.0.1',
          port: seeded.serverPort,
          user: seedNames.adminLogin,
          database: 'fluentedge',
          url: seeded.databaseUrl,
        },
      },
      app: seedNames.app,
      dataDir: o.dataDir,
    };
    const endpointsFile = env.SANDBOX_ENDPOINTS_FILE!;
    writeFileSync(endpointsFile, `${JSON.stringify(endpoints, null, 2)}\n`, { mode: 0o600 });

    let load: Load | undefined;
    if (o.loadRps) {
      load = startLoad({ url: ingress.url, rps: o.loadRps });
      closers.push(async () => load?.stop());
    }

    let worker: ChildProcess | undefined;
    const stopWorker = () =>
      new Promise<void>((resolve) => {
        const w = worker;
        if (!w || w.exitCode !== null || w.signalCode !== null) return resolve();
        w.removeAllListeners('exit');
        w.once('exit', () => resolve());
        w.kill('SIGTERM');
        setTimeout(() => w.kill('SIGKILL'), 10_000).unref();
      });
    const launchWorker = async () => {
      worker = await startWorker(env, path.join(o.dataDir, 'worker.log'), o.log);
      return worker;
    };
    closers.push(stopWorker);
    if (o.worker !== false) await launchWorker();
    return {
      endpoints,
      endpointsFile,
      config,
      env,
      get worker() {
        return worker;
      },
      startWorker: launchWorker,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
