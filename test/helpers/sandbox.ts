import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/log';
import { ephemeralPorts, type Sandbox, startSandbox } from '../../src/sandbox/environment';

const root = path.resolve(__dirname, '../..');

/** A whole sandbox on ephemeral ports in a temp dir: real Temporal, emulator, processes, PostgreSQL. */
export async function testSandbox(opts: { worker?: boolean } = {}): Promise<Sandbox> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fe-sandbox-'));
  chmodSync(dataDir, 0o755);
  return startSandbox({
    dataDir,
    ports: ephemeralPorts,
    ui: false,
    worker: opts.worker ?? true,
    log: createLogger('test-sandbox', 'warn'),
  });
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI exactly as an operator runs it: `npx runbook …` resolves to bin/runbook.js. */
export function runbookCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<CliRun> {
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
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** JSON lines printed with --json. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{') || l.startsWith('['))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export async function admin<T>(
  sandbox: Sandbox,
  pathAndQuery: string,
  init?: { method?: string; body?: unknown },
): Promise<T> {
  const https = await import('node:https');
  const url = new URL(`${sandbox.endpoints.adminUrl}${pathAndQuery}`);
  const body = init?.body === undefined ? undefined : JSON.stringify(init.body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: init?.method ?? 'GET',
        ca: sandbox.config.azure.caPem,
        headers: body
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
          : {},
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => {
          if ((res.statusCode ?? 500) >= 300) reject(new Error(`${url.pathname}: ${res.statusCode} ${text}`));
          else resolve((text ? JSON.parse(text) : undefined) as T);
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
