// Online base backups with the low-level API (pg_backup_start/stop on one connection + a file
// copy), a manifest per server, retention, and pruning of WAL no kept backup needs.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { BaseBackup } from '../backend';
import { type ConnInfo, connect } from './cluster';

export interface BackupRecord extends BaseBackup {
  /** WAL segment holding the backup's start; older segments serve no kept backup. */
  startWal: string;
  stopLsn: string;
}

interface Manifest {
  backups: BackupRecord[];
}

export function manifestPath(backupsDir: string): string {
  return path.join(backupsDir, 'manifest.json');
}

export async function readManifest(backupsDir: string): Promise<BackupRecord[]> {
  try {
    const m = JSON.parse(await fsp.readFile(manifestPath(backupsDir), 'utf8')) as Manifest;
    return m.backups;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function writeManifest(backupsDir: string, backups: BackupRecord[]): Promise<void> {
  const tmp = `${manifestPath(backupsDir)}.tmp`;
  await fsp.writeFile(tmp, `${JSON.stringify({ backups } satisfies Manifest, null, 2)}\n`);
  await fsp.rename(tmp, manifestPath(backupsDir));
}

// What the PostgreSQL docs say a low-level base backup should leave out: runtime state that is
// rebuilt at startup, WAL (restored from the archive), and our own signal files.
const emptyDirs = new Set([
  'pg_wal',
  'pg_replslot',
  'pg_dynshmem',
  'pg_notify',
  'pg_serial',
  'pg_snapshots',
  'pg_stat_tmp',
  'pg_subtrans',
]);
const skipFiles = new Set([
  'postmaster.pid',
  'postmaster.opts',
  'backup_label',
  'backup_label.old',
  'tablespace_map',
  'backup_manifest',
  'current_logfiles',
  'recovery.signal',
  'standby.signal',
]);

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * Copies a live data directory. Files may change or vanish while we read them (dropped
 * relations, temp files); WAL replay from the backup's start repairs torn pages, so a vanished
 * file is skipped rather than fatal. Returns bytes copied.
 */
export async function copyDataDir(src: string, dst: string, top = true): Promise<number> {
  await fsp.mkdir(dst, { recursive: true, mode: 0o700 });
  let entries: fs.Dirent[];
  try {
    entries = await fsp.readdir(src, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return 0;
    throw err;
  }
  let bytes = 0;
  for (const e of entries) {
    if (e.name.startsWith('pgsql_tmp')) continue;
    if (top && skipFiles.has(e.name)) continue;
    const s = path.join(src, e.name);
    const d = path.join(dst, e.name);
    if (e.isDirectory()) {
      if (top && emptyDirs.has(e.name)) {
        await fsp.mkdir(d, { mode: 0o700 });
        if (e.name === 'pg_wal') {
          await fsp.mkdir(path.join(d, 'archive_status'), { mode: 0o700 });
          await fsp.mkdir(path.join(d, 'summaries'), { mode: 0o700 });
        }
        continue;
      }
      bytes += await copyDataDir(s, d, false);
    } else if (e.isSymbolicLink()) {
      await fsp.symlink(await fsp.readlink(s), d);
    } else if (e.isFile()) {
      try {
        await fsp.copyFile(s, d);
        bytes += (await fsp.stat(d)).size;
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
    }
  }
  return bytes;
}

/** `backup_20261203T191401Z`, the name Azure-style listings show. */
export function backupName(at: Date): string {
  return `backup_${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
}

/** The records retention drops: all but the newest `keep` by completion time. */
export function backupsToDrop(backups: BackupRecord[], keep: number): BackupRecord[] {
  const sorted = [...backups].sort((a, b) => a.completedTime.localeCompare(b.completedTime));
  return sorted.slice(0, Math.max(0, sorted.length - Math.max(1, keep)));
}

const walFile = /^([0-9A-F]{8})([0-9A-F]{16})(\.[0-9A-F]{8}\.backup|\.partial)?$/;

/**
 * Archive files older than the oldest kept backup's start segment. Compared by segment number
 * only, so a restored server (timeline 2+) prunes its own archive the same way; `.history` files
 * are always kept because recovery walks them to choose a timeline.
 */
export function walToPrune(files: string[], oldestStartWal: string): string[] {
  const keepFrom = oldestStartWal.slice(8);
  return files.filter((f) => {
    const m = walFile.exec(f);
    return m !== null && (m[2] ?? '') < keepFrom;
  });
}

export interface BackupTarget {
  conn: ConnInfo;
  dataDir: string;
  backupsDir: string;
  archiveDir: string;
  retention: number;
}

/**
 * One online base backup. Non-exclusive: the backup is tied to this session, so if we crash or
 * the copy fails, closing the connection aborts it and nothing is left half-registered.
 */
export async function takeBackup(t: BackupTarget): Promise<BackupRecord> {
  await fsp.mkdir(t.backupsDir, { recursive: true });
  const client = await connect(t.conn);
  let partial: string | undefined;
  try {
    const started = await client.query<{ t: Date }>('SELECT clock_timestamp() AS t');
    const startTime = started.rows[0]!.t;
    let name = backupName(startTime);
    for (let i = 2; fs.existsSync(path.join(t.backupsDir, name)); i++) name = `${backupName(startTime)}_${i}`;
    await client.query('SELECT pg_backup_start($1, true)', [name]);
    partial = path.join(t.backupsDir, `${name}.partial`);
    await fsp.rm(partial, { recursive: true, force: true });
    const size = await copyDataDir(t.dataDir, partial);
    // wait_for_archive: the backup is only restorable once its last WAL segment is in the archive.
    const stop = await client.query<{ lsn: string; labelfile: string; spcmapfile: string }>(
      'SELECT lsn::text, labelfile, spcmapfile FROM pg_backup_stop(true)',
    );
    const done = await client.query<{ t: Date }>('SELECT clock_timestamp() AS t');
    const row = stop.rows[0]!;
    await fsp.writeFile(path.join(partial, 'backup_label'), row.labelfile);
    if (row.spcmapfile) await fsp.writeFile(path.join(partial, 'tablespace_map'), row.spcmapfile);
    const startWal = /\(file ([0-9A-F]{24})\)/.exec(row.labelfile)?.[1];
    if (!startWal) throw new Error(`unexpected backup_label: ${row.labelfile}`);
    const final = path.join(t.backupsDir, name);
    await fsp.rename(partial, final);
    partial = undefined;
    const record: BackupRecord = {
      name,
      startTime: startTime.toISOString(),
      completedTime: done.rows[0]!.t.toISOString(),
      sizeBytes: size + Buffer.byteLength(row.labelfile),
      startWal,
      stopLsn: row.lsn,
    };
    await applyRetention(t, [...(await readManifest(t.backupsDir)), record]);
    return record;
  } finally {
    await client.end().catch(() => undefined);
    if (partial) await fsp.rm(partial, { recursive: true, force: true });
  }
}

async function applyRetention(t: BackupTarget, backups: BackupRecord[]): Promise<void> {
  const drop = backupsToDrop(backups, t.retention);
  const dropped = new Set(drop.map((b) => b.name));
  const kept = backups.filter((b) => !dropped.has(b.name));
  // Manifest first: a listed backup must always exist on disk, an unlisted leftover is harmless.
  await writeManifest(t.backupsDir, kept);
  for (const b of drop) await fsp.rm(path.join(t.backupsDir, b.name), { recursive: true, force: true });
  const oldest = kept.reduce<BackupRecord | undefined>(
    (o, b) => (!o || b.startWal.slice(8) < o.startWal.slice(8) ? b : o),
    undefined,
  );
  if (!oldest || drop.length === 0) return;
  const files = await fsp.readdir(t.archiveDir).catch(() => [] as string[]);
  for (const f of walToPrune(files, oldest.startWal))
    await fsp.rm(path.join(t.archiveDir, f), { force: true });
}
