// Online base backups with the low-level API (pg_backup_start/stop on one connection + a file
// copy), a manifest per server, retention, and pruning of WAL no kept backup needs.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { BaseBackup } from '../backend';
import { type ConnInfo, connect, coreutil, tool } from './cluster';

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

/** cp's complaint about a file that vanished between listing and copying. */
const vanished = /^cp: cannot (stat|open|access) '.*'( for reading)?: No such file or directory$/;

/**
 * Copies a live data directory. Files may change or vanish while we read them (dropped
 * relations, temp files); WAL replay from the backup's start repairs torn pages, so a vanished
 * file is skipped rather than fatal. One `cp -a` for the tree (see copyTree); only the top level,
 * where the exclusions are, is listed here. Returns its size in bytes (`du -sb`).
 */
export async function copyDataDir(src: string, dst: string): Promise<number> {
  await fsp.mkdir(dst, { recursive: true, mode: 0o700 });
  const sources: string[] = [];
  for (const e of await fsp.readdir(src, { withFileTypes: true })) {
    if (e.name.startsWith('pgsql_tmp') || skipFiles.has(e.name)) continue;
    if (e.isDirectory() && emptyDirs.has(e.name)) {
      await fsp.mkdir(path.join(dst, e.name), { mode: 0o700 });
      if (e.name === 'pg_wal') {
        await fsp.mkdir(path.join(dst, e.name, 'archive_status'), { mode: 0o700 });
        await fsp.mkdir(path.join(dst, e.name, 'summaries'), { mode: 0o700 });
      }
      continue;
    }
    sources.push(path.join(src, e.name));
  }
  const cp = await tool('cp', ['-a', '--', ...sources, `${dst}/`]);
  const errors = cp.stderr.split('\n').filter((l) => l && !vanished.test(l));
  if (cp.code !== 0 && (errors.length > 0 || !cp.stderr)) {
    throw new Error(`copy of ${src} failed: ${errors.join('; ') || `cp exited with ${cp.code}`}`);
  }
  // Temp files of running queries (base/pgsql_tmp, a tablespace's pgsql_tmp) are no data.
  await coreutil('find', [dst, '-name', 'pgsql_tmp*', '-prune', '-exec', 'rm', '-rf', '--', '{}', '+']);
  const du = await coreutil('du', ['-s', '-b', '--', dst]);
  return Number(du.split('\t')[0]);
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
