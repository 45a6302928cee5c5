// Point-in-time restore into a new cluster: the source's latest base backup that finished by the
// target, plus the source's WAL archive replayed up to `recovery_target_time`, then promotion.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { BackupRecord } from './backup';
import {
  type ConnInfo,
  type CtlOptions,
  chownTree,
  connect,
  copyTree,
  logTail,
  type OsIdentity,
  pgStart,
  postmaster,
  shellQuote,
  sleep,
  writeConf,
} from './cluster';

/** `2026-12-03 19:14:01.276+00`: the form recovery_target_time parses unambiguously. */
export function recoveryTime(at: Date): string {
  return at.toISOString().replace('T', ' ').replace('Z', '+00');
}

/** The newest backup that had finished by `at`; recovery cannot stop before a backup's end. */
export function chooseBackup(backups: BackupRecord[], at: Date): BackupRecord | undefined {
  const t = at.getTime();
  return backups
    .filter((b) => Date.parse(b.completedTime) <= t)
    .sort((a, b) => a.completedTime.localeCompare(b.completedTime))
    .at(-1);
}

const walName = /^[0-9A-F]{24}$/;

/**
 * Makes every commit up to now restorable from a running source: a committed transaction with an
 * xid puts a commit record after any target ≤ now (recovery only stops at commit/abort records,
 * and fails if the WAL ends before the target), and a WAL switch pushes it into the archive.
 */
export async function flushArchive(conn: ConnInfo, archiveDir: string, timeoutMs = 60_000): Promise<void> {
  const client = await connect(conn);
  try {
    await client.query('SELECT txid_current()');
    const r = await client.query<{ wal: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS wal');
    const wal = r.rows[0]!.wal;
    const deadline = Date.now() + timeoutMs;
    while (!fs.existsSync(path.join(archiveDir, wal))) {
      if (Date.now() > deadline)
        throw new Error(`WAL segment ${wal} was not archived within ${timeoutMs} ms`);
      await sleep(100);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface RecoverOptions {
  ctl: CtlOptions;
  id: OsIdentity;
  binDir: string;
  backupDir: string;
  /** Source archive restore_command reads from. */
  sourceArchive: string;
  /** WAL of a stopped source that never reached its archive (the last, partly filled segment). */
  sourceWal?: string;
  archiveDir: string;
  port: number;
  conn: ConnInfo;
  at: Date;
  timeoutMs?: number;
}

const endedEarly = 'recovery ended before configured recovery target was reached';

/**
 * Builds the data directory and recovers it to `at`. If the WAL holds no commit after `at`, the
 * target is later than the last transaction, and PostgreSQL refuses to promote; recovering to the
 * end of the WAL then gives exactly the same rows, so we retry that way.
 */
export async function recover(o: RecoverOptions): Promise<RecoverPhases> {
  try {
    return await attempt(o, recoveryTime(o.at));
  } catch (err) {
    if (!(err as Error).message.includes(endedEarly)) throw err;
    return await attempt(o, undefined);
  }
}

/** Milliseconds per step, so a slow restore says whether the disk or the replay was slow. */
export interface RecoverPhases {
  copyMs: number;
  ownMs: number;
  replayMs: number;
}

async function attempt(o: RecoverOptions, targetTime: string | undefined): Promise<RecoverPhases> {
  const data = o.ctl.dataDir;
  let t = Date.now();
  const lap = () => {
    const now = Date.now();
    const ms = now - t;
    t = now;
    return ms;
  };
  await fsp.rm(data, { recursive: true, force: true });
  await copyTree(o.backupDir, data);
  if (o.sourceWal) {
    for (const f of await fsp.readdir(o.sourceWal)) {
      if (walName.test(f)) await fsp.copyFile(path.join(o.sourceWal, f), path.join(data, 'pg_wal', f));
    }
  }
  await writeConf(
    data,
    {
      port: o.port,
      archiveDir: o.archiveDir,
      recovery: { restoreCommand: `cp ${shellQuote(o.sourceArchive)}/%f "%p"`, targetTime },
    },
    o.binDir,
    o.id,
  );
  await fsp.writeFile(path.join(data, 'recovery.signal'), '');
  await fsp.chmod(data, 0o700);
  const copyMs = lap();
  await chownTree(o.id, data);
  const ownMs = lap();
  const logFrom = fs.existsSync(o.ctl.logFile) ? fs.statSync(o.ctl.logFile).size : 0;
  const newLog = (): string => {
    try {
      return fs.readFileSync(o.ctl.logFile, 'utf8').slice(logFrom);
    } catch {
      return '';
    }
  };
  try {
    await pgStart(o.ctl);
  } catch (err) {
    if (newLog().includes(endedEarly)) throw new Error(endedEarly);
    throw err;
  }
  const deadline = Date.now() + (o.timeoutMs ?? 300_000);
  for (;;) {
    if (!postmaster(data)) {
      if (newLog().includes(endedEarly)) throw new Error(endedEarly);
      throw new Error(`recovery failed\n--- ${o.ctl.logFile} ---\n${logTail(o.ctl.logFile)}`);
    }
    try {
      const client = await connect(o.conn);
      try {
        const r = await client.query<{ rec: boolean }>('SELECT pg_is_in_recovery() AS rec');
        if (r.rows[0]?.rec === false) return { copyMs, ownMs, replayMs: lap() };
      } finally {
        await client.end().catch(() => undefined);
      }
    } catch {
      // not accepting connections until the backup's end is replayed
    }
    if (Date.now() > deadline) {
      throw new Error(`recovery did not finish in time\n--- ${o.ctl.logFile} ---\n${logTail(o.ctl.logFile)}`);
    }
    await sleep(200);
  }
}
