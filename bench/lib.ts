import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { CanaryResult } from '../src/domain/canary';
import { createLogger } from '../src/log';
import { ephemeralPorts, type Sandbox, startSandbox } from '../src/sandbox/environment';

// Shared by the benchmarks: a whole sandbox on ephemeral ports in a temp dir, the emulator's
// mutation log, the CLI as CI runs it, and plain-text tables + JSON results.

export const root = path.resolve(__dirname, '..');
export const resultsDir = path.join(__dirname, 'results');

export function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1]!;
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  return eq ? eq.slice(name.length + 3) : fallback;
}

export function numberFlag(name: string, fallback: number): number {
  const v = Number(flag(name, String(fallback)));
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name}: expected a non-negative number`);
  return v;
}

export async function benchSandbox(
  opts: { loadRps?: number } = {},
): Promise<Sandbox & { dispose(): Promise<void> }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fe-bench-'));
  chmodSync(dataDir, 0o755);
  const sandbox = await startSandbox({
    dataDir,
    ports: ephemeralPorts,
    ui: false,
    worker: true,
    ...(opts.loadRps ? { loadRps: opts.loadRps } : {}),
    log: createLogger('bench-sandbox', 'warn'),
  });
  return {
    ...sandbox,
    async dispose() {
      await sandbox.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Mutation {
  seq: number;
  time: string;
  method: string;
  path: string;
  status: number;
  body: unknown;
}

export function adminGet<T>(sandbox: Sandbox, pathAndQuery: string): Promise<T> {
  const url = new URL(`${sandbox.endpoints.adminUrl}${pathAndQuery}`);
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca: sandbox.config.azure.caPem }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => {
          if ((res.statusCode ?? 500) >= 300) reject(new Error(`${url.pathname}: ${res.statusCode} ${text}`));
          else resolve(JSON.parse(text) as T);
        });
      })
      .on('error', reject);
  });
}

export async function mutationCount(sandbox: Sandbox): Promise<number> {
  return (await adminGet<{ count: number }>(sandbox, '/mutations/count')).count;
}

export async function mutationsSince(sandbox: Sandbox, since: number): Promise<Mutation[]> {
  return (await adminGet<{ mutations: Mutation[] }>(sandbox, `/mutations?since=${since}`)).mutations;
}

/** Each PATCH of an app that sets traffic: when, and the weights it asked for. */
export function trafficChanges(mutations: Mutation[]): { at: number; weights: Record<string, number> }[] {
  const out: { at: number; weights: Record<string, number> }[] = [];
  for (const m of mutations) {
    if (m.method !== 'PATCH' || m.status >= 300) continue;
    const traffic = (
      m.body as { properties?: { configuration?: { ingress?: { traffic?: unknown } } } } | null
    )?.properties?.configuration?.ingress?.traffic;
    if (!Array.isArray(traffic)) continue;
    const weights: Record<string, number> = {};
    for (const t of traffic as { revisionName?: string; weight?: number }[]) {
      if (t.revisionName) weights[t.revisionName] = t.weight ?? 0;
    }
    out.push({ at: Date.parse(m.time), weights });
  }
  return out;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `npx runbook …` exactly as CI runs it. */
export function runbook(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 300_000): Promise<CliRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'runbook.js'), ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`runbook ${args.join(' ')} timed out\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/**
 * The run's outcome from `--wait --json`: a `result` event when the workflow completed, or an
 * `outcome` event when `--wait` stopped at a final outcome while the workflow runs on (a promoted
 * canary keeps its rollback window open); both carry outcome, canary, stable and analysis.
 */
export function canaryOutcome(stdout: string): Partial<CanaryResult> | undefined {
  for (const line of stdout.split('\n').reverse()) {
    if (!line.startsWith('{')) continue;
    const parsed = JSON.parse(line) as Record<string, unknown>;
    if (parsed.event === 'result') return parsed.result as Partial<CanaryResult>;
    if (parsed.event === 'outcome') {
      const d = (parsed.details ?? {}) as Partial<CanaryResult>;
      return { ...d, outcome: parsed.outcome as CanaryResult['outcome'] };
    }
    if (parsed.event === 'failed') return { reason: String(parsed.message) };
  }
  return undefined;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    line(headers),
    `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`,
    ...rows.map((r) => line(r.map(String))),
  ].join('\n');
}

export function machine(): {
  cpus: number;
  cpuModel: string;
  memGiB: number;
  node: string;
  platform: string;
} {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

export function writeResult(name: string, data: unknown): string {
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  // `npm run lint` checks bench/**, JSON included: leave the file as biome would format it.
  spawnSync(path.join(root, 'node_modules', '.bin', 'biome'), ['format', '--write', file], {
    stdio: 'ignore',
  });
  return file;
}

export const seconds = (ms: number) => (ms / 1000).toFixed(2);

/** Run `main`, always close what it opened, exit non-zero on error. */
export function run(main: (cleanup: (fn: () => Promise<void>) => void) => Promise<number>): void {
  const cleanups: (() => Promise<void>)[] = [];
  let done = false;
  const finish = async (code: number) => {
    if (done) return;
    done = true;
    for (const c of cleanups.reverse()) await c().catch((e) => process.stderr.write(`cleanup: ${e}\n`));
    process.exit(code);
  };
  process.on('SIGINT', () => void finish(130));
  process.on('SIGTERM', () => void finish(143));
  main((fn) => cleanups.push(fn)).then(
    (code) => finish(code),
    (err) => {
      process.stderr.write(`${err?.stack ?? err}\n`);
      void finish(1);
    },
  );
}
