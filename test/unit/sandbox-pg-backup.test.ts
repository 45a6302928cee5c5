import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type BackupRecord, backupName, backupsToDrop, walToPrune } from '../../src/sandbox/postgres/backup';
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
