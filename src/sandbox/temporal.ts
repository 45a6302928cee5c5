import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { searchAttributeKeys } from '../domain/searchAttributes';
import { freePort, portOpen, waitFor } from './net';
import { temporalCli } from './tools';

// The real Temporal server (`temporal server start-dev`) for the sandbox and the e2e tests,
// with our search attributes registered so workflows can upsert them from the first run.

export interface DevServerOptions {
  ip?: string;
  /** 0 = any free port. */
  port: number;
  uiPort?: number;
  headless?: boolean;
  /** Persist history here; omitted = in memory. */
  dbFile?: string;
  logFile?: string;
  namespace?: string;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const ip = opts.ip ?? '127.0.0.1';
  const port = opts.port || (await freePort(ip));
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port), '--log-level', 'warn'];
  if (opts.headless) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort ?? port + 1000));
  if (opts.dbFile) {
    mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
    // WAL with synchronous=NORMAL: a commit is a write to the WAL, not an fsync of the database, so
    // workflow-task latency does not follow the disk's fsync latency while a restore copies
    // hundreds of MB. Still crash-safe for the process (a killed server loses nothing); only a
    // power cut can lose the last transactions, which is acceptable for a rehearsal server.
    args.push('--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  }
  if (opts.namespace) args.push('--namespace', opts.namespace);
  for (const key of searchAttributeKeys) args.push('--search-attribute', `${key.name}=Keyword`);
  // Eager activity dispatch: the worker that completes a workflow task gets the activity it just
  // scheduled in the reply, saving a matching round trip per activity.
  args.push('--dynamic-config-value', 'system.enableActivityEagerExecution=true');

  const child = spawn(temporalCli(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (opts.logFile) {
    mkdirSync(path.dirname(opts.logFile), { recursive: true });
    const log = createWriteStream(opts.logFile, { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
  } else {
    child.stdout?.resume();
    child.stderr?.resume();
  }
  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? -1;
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  };
  try {
    await waitFor(
      `temporal dev server on ${ip}:${port}`,
      async () => {
        if (exited !== null)
          throw new Error(
            `temporal server exited with ${exited}${opts.logFile ? ` (see ${opts.logFile})` : ''}`,
          );
        return portOpen(port, ip);
      },
      30_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    address: `${ip}:${port}`,
    ...(opts.headless ? {} : { uiUrl: `http://${ip}:${opts.uiPort ?? port + 1000}` }),
    process: child,
    stop,
  };
}
