import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  type BackupRecord,
  backupName,
  backupsToDrop,
  copyDataDir,
  walToPrune,
} from '../../src/sandbox/postgres/backup';
import { renderConf, shellQuote } from '../../src/sandbox/postgres/cluster';
import { chooseBackup, recoveryTime } from '../../src/sandbox/postgres/restore';

function rec(name: string, completedTime: string, startWal: string): BackupRecord {
  return { name, startTime: completedTime, completedTime, sizeBytes: 1, startWal, stopLsn: '0/0' };
}

const b1 = rec('a', '2026-12-03T10:00:00.000Z', '000000010000000000000005');
const b2 = rec('b', '2026-12-03T10:10:00.000Z', '000000010000000000000009');
const b3 = rec('c', '2026-12-03T10:20:00.000Z', '00000001000000000000000C');

describe('sandbox postgres backups', () => {
  test('backup names are the start instant in compact UTC', () => {
    assert.equal(backupName(new Date('2026-12-03T19:14:01.276Z')), 'backup_20261203T191401Z');
  });

  test('retention drops the oldest beyond the limit and never the last one', () => {
    assert.deepEqual(
      backupsToDrop([b3, b1, b2], 2).map((b) => b.name),
      ['a'],
    );
    assert.deepEqual(backupsToDrop([b1, b2], 7), []);
    assert.deepEqual(
      backupsToDrop([b1, b2, b3], 0).map((b) => b.name),
      ['a', 'b'],
    );
  });

  test('WAL pruning keeps everything from the oldest kept backup on, and history files', () => {
    const files = [
      '000000010000000000000004',
      '000000010000000000000008',
      '000000010000000000000008.00000028.backup',
      '000000010000000000000009',
      '00000002.history',
      '00000002000000000000000A',
      'archtemp.0000000100000000000000A1.1234.5678',
    ];
    assert.deepEqual(walToPrune(files, b2.startWal), [
      '000000010000000000000004',
      '000000010000000000000008',
      '000000010000000000000008.00000028.backup',
    ]);
  });
});

describe('sandbox postgres data directory copy', () => {
  const files: Record<string, string> = {
    PG_VERSION: '17\n',
    'global/pg_control': 'c'.repeat(8192),
    'base/1/1259': 'r'.repeat(16384),
    'base/5/16384': 'x'.repeat(100_000),
    'base/pgsql_tmp/pgsql_tmp123.0': 'temp',
    'pg_wal/000000010000000000000003': 'w'.repeat(4096),
    'pg_stat_tmp/global.stat': 's',
    'postmaster.pid': '123',
    backup_label: 'old label',
  };
  const tree = (root: string): string[] =>
    fs
      .readdirSync(root, { recursive: true, withFileTypes: true })
      .map((e) => `${path.relative(root, path.join(e.parentPath, e.name))}${e.isDirectory() ? '/' : ''}`)
      .sort();

  test('copies the data, keeps runtime directories empty and leaves out what a backup must not hold', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-copy-'));
    try {
      const src = path.join(tmp, 'data');
      for (const [f, body] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(src, f)), { recursive: true });
        fs.writeFileSync(path.join(src, f), body, { mode: 0o600 });
      }
      const dst = path.join(tmp, 'backup');
      const size = await copyDataDir(src, dst);
      assert.deepEqual(tree(dst), [
        'PG_VERSION',
        'base/',
        'base/1/',
        'base/1/1259',
        'base/5/',
        'base/5/16384',
        'global/',
        'global/pg_control',
        'pg_stat_tmp/',
        'pg_wal/',
        'pg_wal/archive_status/',
        'pg_wal/summaries/',
      ]);
      assert.equal(fs.readFileSync(path.join(dst, 'base/5/16384'), 'utf8'), files['base/5/16384']);
      assert.equal(fs.statSync(path.join(dst, 'base/5/16384')).mode & 0o777, 0o600, 'modes kept');
      const data = 3 + 8192 + 16384 + 100_000;
      assert.ok(size >= data && size < data + 64 * 1024, `size ${size}`);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test("a copy that fails for any reason but a vanished file fails with cp's words", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-copy-'));
    try {
      const src = path.join(tmp, 'data');
      fs.mkdirSync(src);
      fs.mkdirSync(path.join(src, 'base'));
      // A file where the copy needs a directory: cp refuses, and that is no vanished file.
      const dst = path.join(tmp, 'backup');
      fs.mkdirSync(dst);
      fs.writeFileSync(path.join(dst, 'base'), '');
      await assert.rejects(
        copyDataDir(src, dst),
        /copy of .*data failed: cp: cannot overwrite non-directory/,
      );
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('sandbox postgres restore', () => {
  test('recovery_target_time in the form PostgreSQL parses', () => {
    assert.equal(recoveryTime(new Date('2026-12-03T19:14:01.276Z')), '2026-12-03 19:14:01.276+00');
  });

  test('the base backup is the newest one finished by the target', () => {
    assert.equal(chooseBackup([b1, b2, b3], new Date('2026-12-03T10:15:00Z'))?.name, 'b');
    assert.equal(chooseBackup([b3, b1, b2], new Date('2026-12-03T10:20:00Z'))?.name, 'c');
    assert.equal(chooseBackup([b1, b2, b3], new Date('2026-12-03T09:59:59Z')), undefined);
  });

  test('config: archiving always, recovery settings only while restoring', () => {
    const plain = renderConf({ port: 6500, archiveDir: "/srv/it's/wal" }, '/nonexistent/bin');
    assert.match(plain, /^port = 6500$/m);
    assert.match(plain, /^archive_library = 'basic_archive'$/m);
    assert.match(plain, /^basic_archive\.archive_directory = '\/srv\/it''s\/wal'$/m);
    assert.doesNotMatch(plain, /restore_command|recovery_target/);
    const restoring = renderConf(
      {
        port: 6501,
        archiveDir: '/a',
        recovery: {
          restoreCommand: `cp ${shellQuote('/src/wal')}/%f "%p"`,
          targetTime: '2026-12-03 19:14:01.276+00',
        },
      },
      '/nonexistent/bin',
    );
    assert.match(restoring, /^restore_command = 'cp ''\/src\/wal''\/%f "%p"'$/m);
    assert.match(restoring, /^recovery_target_time = '2026-12-03 19:14:01\.276\+00'$/m);
    assert.match(restoring, /^recovery_target_action = 'promote'$/m);
  });
});
