import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseInput } from '../../src/domain/input';
import {
  checkRestoreWindow,
  judgeExpectation,
  judgeRecovery,
  missingSecretSources,
  pointInTimeRestoreInput,
  recoveryTargets,
  restoredServerName,
  retargetUrl,
  toKnownGoodSpec,
  urlHostPort,
} from '../../src/domain/restore';

const min = 60_000;
const hour = 60 * min;

describe('RTO/RPO targets from the manual (障害復旧手順)', () => {
  const table: [keyof typeof recoveryTargets, number, number][] = [
    ['production', 30 * min, 15 * min],
    ['staging', 2 * hour, 1 * hour],
    ['dev', 4 * hour, 24 * hour],
    ['sandbox', 4 * hour, 24 * hour],
  ];
  for (const [env, rto, rpo] of table) {
    test(`${env}: RTO ${rto / min} min, RPO ${rpo / min} min; met at the limit, missed just over`, () => {
      assert.deepEqual(recoveryTargets[env], { rtoMs: rto, rpoMs: rpo });
      assert.equal(judgeRecovery(env, rto, rpo).met, true);
      const over = judgeRecovery(env, rto + 1, rpo);
      assert.equal(over.met, false);
      assert.equal(over.rto.met, false);
      assert.equal(over.rpo.met, true);
      assert.equal(judgeRecovery(env, rto, rpo + 1).rpo.met, false);
    });
  }
  test('the summary names the figures and the verdicts', () => {
    assert.equal(
      judgeRecovery('production', 31 * min, 5 * min).summary,
      'RTO 31m (target 30m: missed), RPO 5m (target 15m: met)',
    );
  });
});

describe('restore window', () => {
  const backups = [
    { name: 'b1', completedTime: '2026-02-14T09:00:05Z' },
    { name: 'b2', completedTime: '2026-02-14T10:00:05Z' },
  ];
  const now = new Date('2026-02-14T12:00:00Z');
  test('newest backup finished by the point is chosen', () => {
    const r = checkRestoreWindow(new Date('2026-02-14T10:30:00Z'), backups, now);
    assert.ok(r.ok && r.backup.name === 'b2');
    const r1 = checkRestoreWindow(new Date('2026-02-14T10:00:04Z'), backups, now);
    assert.ok(r1.ok && r1.backup.name === 'b1');
  });
  test('future, before the oldest completion, or no backups are refused with a reason', () => {
    assert.deepEqual(
      [
        checkRestoreWindow(new Date('2026-02-14T12:00:01Z'), backups, now),
        checkRestoreWindow(new Date('2026-02-14T09:00:04Z'), backups, now),
        checkRestoreWindow(new Date('2026-02-14T11:00:00Z'), [], now),
      ].map((r) => (r.ok ? 'ok' : r.code)),
      ['InFuture', 'BeforeWindow', 'NoBackup'],
    );
  });
});

describe('pointInTimeRestore input', () => {
  test('names every bad field', () => {
    assert.throws(
      () =>
        parseInput(pointInTimeRestoreInput, {
          sourceServer: 'Bad_Name',
          restoreTo: 'yesterday',
          apps: [{ app: 'x', databaseUrl: {} }],
          verify: [{ sql: 'DELETE FROM users', expect: 1 }],
        }),
      (e: Error) =>
        /sourceServer/.test(e.message) &&
        /restoreTo/.test(e.message) &&
        /apps\.0\.app/.test(e.message) &&
        /apps\.0\.databaseUrl/.test(e.message) &&
        /verify\.0\.sql: expected a read-only query/.test(e.message),
    );
  });
  test('a restore into the source itself is refused; defaults are filled', () => {
    assert.throws(
      () =>
        parseInput(pointInTimeRestoreInput, {
          sourceServer: 'pg-a',
          restoreTo: 'latest',
          targetServer: 'pg-a',
        }),
      /targetServer: a restore always goes into a new server/,
    );
    const ok = parseInput(pointInTimeRestoreInput, {
      sourceServer: 'pg-a',
      restoreTo: '2026-02-14T10:00:00Z',
    });
    assert.equal(ok.database, 'fluentedge');
    assert.equal(ok.healthTimeout, 180_000);
    assert.equal(ok.approvals.onExpiry, 'rollback');
  });
});

describe('names and URLs', () => {
  test('restored server names are deterministic per workflow, distinct across workflows, ≤ 63 chars', () => {
    const a = restoredServerName('fluentedge-pg', 'restore-a');
    assert.equal(a, restoredServerName('fluentedge-pg', 'restore-a'));
    assert.notEqual(a, restoredServerName('fluentedge-pg', 'restore-b'));
    assert.match(a, /^fluentedge-pg-r-[a-z0-9]{6}$/);
    const long = restoredServerName('x'.repeat(63), 'w', 'drill');
    assert.ok(long.length <= 63 && /^[a-z0-9][a-z0-9-]+[a-z0-9]$/.test(long));
  });
  test('retargetUrl changes host:port only; urlHostPort reads it', () => {
    const url = 'postgres://app%40x:p%2Fw@old.postgres.database.azure.com/fluentedge?sslmode=require';
    const moved = retargetUrl(url, 'new.postgres.database.azure.com');
    assert.equal(
      moved,
      'postgres://app%40x:p%2Fw@new.postgres.database.azure.com/fluentedge?sslmode=require',
    );
    assert.equal(urlHostPort(moved), 'new.postgres.database.azure.com:5432');
    assert.equal(
      urlHostPort(retargetUrl('postgres://u:p@127.0.0.1:6432/db', '127.0.0.1:6440')),
      '127.0.0.1:6440',
    );
    assert.equal(urlHostPort('https://example.com'), undefined);
  });
});

describe('verification expectations', () => {
  const cases: [unknown, Parameters<typeof judgeExpectation>[1], boolean][] = [
    ['50', 50, true],
    [50, 49, false],
    ['3f9c', '3f9c', true],
    [null, null, true],
    [true, true, true],
    ['301', { atLeast: 300 }, true],
    [299, { atLeast: 300 }, false],
    [5, { atLeast: 1, atMost: 4 }, false],
    [undefined, 0, false],
  ];
  for (const [actual, expect, ok] of cases) {
    test(`${JSON.stringify(actual)} vs ${JSON.stringify(expect)} → ${ok}`, () => {
      assert.equal(judgeExpectation(actual, expect).ok, ok);
    });
  }
});

describe('known-good specs keep no secret values', () => {
  test('runtime fields, traffic, suffix and secret values are dropped', () => {
    const spec = toKnownGoodSpec({
      location: 'japaneast',
      environmentId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/e',
      provisioningState: 'Succeeded',
      latestRevisionName: 'app--v2',
      configuration: {
        activeRevisionsMode: 'Multiple',
        secrets: [
          { name: 'database-url', value: 'postgres://u:secret@h/db' },
          { name: 'kv', keyVaultUrl: 'https://v/s/x', identity: 'system' },
        ],
        ingress: {
          fqdn: '127.0.0.1:8080',
          external: true,
          targetPort: 8000,
          traffic: [{ revisionName: 'app--v2', weight: 100 }],
        },
      },
      template: { revisionSuffix: 'v2', containers: [{ name: 'backend', image: 'img:2' }] },
    });
    assert.ok(!JSON.stringify(spec).includes('secret@'));
    assert.deepEqual(spec.configuration.secrets, [
      { name: 'database-url' },
      { name: 'kv', keyVaultUrl: 'https://v/s/x', identity: 'system' },
    ]);
    assert.deepEqual(spec.configuration.ingress, {
      external: true,
      targetPort: 8000,
      traffic: [{ latestRevision: true, weight: 100 }],
    });
    assert.equal(spec.template['revisionSuffix'], undefined);
    assert.deepEqual(missingSecretSources(spec, {}), ['database-url']);
    assert.deepEqual(missingSecretSources(spec, { 'database-url': {} }), []);
  });
});
