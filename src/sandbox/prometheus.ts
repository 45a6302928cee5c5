import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, waitFor } from './net';

// The real Prometheus server (Debian's `prometheus` package) scraping the sandbox ingresses, so
// the canary's `prometheus` analysis provider runs real PromQL over real scrapes. Optional: when
// the binary is absent the sandbox runs without it and the `probe` provider still works.

export interface PrometheusOptions {
  /** The sandbox data dir; config and TSDB go under `<dataDir>/prometheus/`. */
  dataDir: string;
  /** 0 = any free port. Listens on 127.0.0.1 only. */
  port: number;
  /** `host:port` of each ingress to scrape at `/metrics`. */
  targets: string[];
  /** Scrape (and evaluation) interval; default 1000 ms so a few seconds of traffic are visible. */
  scrapeIntervalMs?: number;
  /** Override PATH / PROMETHEUS_PATH lookup (tests). */
  binary?: string;
  env?: NodeJS.ProcessEnv;
}

export interface PrometheusServer {
  url: string;
  port: number;
  binary: string;
  process: ChildProcess;
  close(): Promise<void>;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `PROMETHEUS_PATH`, then `prometheus` on PATH; undefined when neither is there. */
export function findPrometheus(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const explicit = env.PROMETHEUS_PATH;
  if (explicit) return executable(explicit) ? explicit : undefined;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'prometheus');
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

function seconds(ms: number): string {
  return `${Math.max(1, Math.round(ms)) / 1000}s`;
}

/** prometheus.yml for the sandbox: one job, the ingresses, their own app/revision labels kept. */
export function prometheusConfig(targets: string[], scrapeIntervalMs: number): string {
  const interval = seconds(scrapeIntervalMs);
  const timeout = seconds(Math.min(scrapeIntervalMs, 10_000));
  return [
    '# Written by src/sandbox/prometheus.ts on every sandbox start; edits are overwritten.',
    'global:',
    `  scrape_interval: ${interval}`,
    `  scrape_timeout: ${timeout}`,
    `  evaluation_interval: ${interval}`,
    'scrape_configs:',
    '  - job_name: sandbox-ingress',
    '    metrics_path: /metrics',
    '    honor_labels: true',
    '    static_configs:',
    `      - targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]`,
    '',
  ].join('\n');
}

export async function startPrometheus(o: PrometheusOptions): Promise<PrometheusServer | undefined> {
  const binary = o.binary ?? findPrometheus(o.env);
  if (!binary) return undefined;
  const dir = path.join(o.dataDir, 'prometheus');
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  const configFile = path.join(dir, 'prometheus.yml');
  writeFileSync(configFile, prometheusConfig(o.targets, o.scrapeIntervalMs ?? 1000));
  const host = '127.0.0.1';
  const port = o.port || (await freePort(host));
  const url = `http://${host}:${port}`;
  const logFile = path.join(dir, 'prometheus.log');

  const child = spawn(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      '--storage.tsdb.retention.time=2d',
      `--web.listen-address=${host}:${port}`,
      `--web.external-url=${url}/`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir },
  );
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let exited: number | null = null;
  child.once('exit', (code, signal) => {
    exited = code ?? (signal ? 128 : -1);
  });
  // Last resort when the host exits without close().
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  const close = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
    log.end();
  };

  try {
    await waitFor(
      `prometheus on ${url}`,
      async () => {
        if (exited !== null) throw new Error(`prometheus exited with ${exited} (see ${logFile})`);
        try {
          const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
          await res.arrayBuffer();
          return res.status === 200;
        } catch {
          return false;
        }
      },
      30_000,
    );
    // Ready is not scraping yet: wait for the first scrape of every target, so data flows from
    // the moment this returns.
    if (o.targets.length > 0) {
      await waitFor(
        `prometheus scraping ${o.targets.join(', ')}`,
        async () => {
          const res = await fetch(`${url}/api/v1/targets?state=active`, {
            signal: AbortSignal.timeout(1000),
          });
          const body = (await res.json()) as { data?: { activeTargets?: { health: string }[] } };
          const active = body.data?.activeTargets ?? [];
          return active.length >= o.targets.length && active.every((t) => t.health !== 'unknown');
        },
        15_000,
        100,
      );
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { url, port, binary, process: child, close };
}
