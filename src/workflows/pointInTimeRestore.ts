import {
  ApplicationFailure,
  patched,
  proxyActivities,
  proxyLocalActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ServerView } from '../activities/postgres';
import { formatDuration } from '../domain/duration';
import {
  type AppCutover,
  checkRestoreWindow,
  cutoverSuffix,
  judgeRecovery,
  type PointInTimeRestoreConfig,
  type PointInTimeRestoreInput,
  pointInTimeRestoreInput,
  type RestoreOutcome,
  type RestoreResult,
  restoredServerName,
  restoreTags,
  type VerificationReport,
  verificationSummary,
} from '../domain/restore';
import { approvalGates } from './lib/gate';
import { validateInput } from './lib/input';
import { type Lease, lockAll, withLock } from './lib/lock';
import { Progress } from './lib/progress';

// 障害復旧手順 (DR) → DB 障害からの復旧: 1. check the backups, 2. point-in-time restore into a NEW
// server, 3. verify it, 4. approval, 5. switch the apps' DATABASE_URL and restart, 6. if they are
// not healthy on it, switch back, 7. measure RTO/RPO against the manual's targets.
// Only server names and host:port ever pass through here; connection strings stay in activities.

const { runbookSettings } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s' });
const arm = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});
// The preflight's reads are short: as local activities they run inside one workflow task
// instead of a task round trip each (every second of a restore is RTO).
const reads = proxyLocalActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});
// Verification right after the restore, likewise inside the task that sees the restore done
// (no other local activity is pending then). Its queries have a 60 s statement timeout.
const checks = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10m',
  localRetryThreshold: '10s',
  retry: { initialInterval: '2s', maximumInterval: '30s', maximumAttempts: 8 },
});
const restores = proxyActivities<Activities>({
  startToCloseTimeout: '2h',
  // A dead worker is noticed within the heartbeat timeout; the retry finds the server it started.
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 5 },
});
const db = proxyActivities<Activities>({
  startToCloseTimeout: '10m',
  retry: { initialInterval: '2s', maximumInterval: '30s', maximumAttempts: 8 },
});
// Cutover waits for revisions and for health (healthTimeout ≤ 30 min).
const cut = proxyActivities<Activities>({
  startToCloseTimeout: '45m',
  retry: { initialInterval: '2s', maximumInterval: '30s', maximumAttempts: 5 },
});

export async function pointInTimeRestore(raw: PointInTimeRestoreInput): Promise<RestoreResult> {
  const input: PointInTimeRestoreConfig = validateInput(pointInTimeRestoreInput, raw);
  const started = Date.now();
  const settings = await runbookSettings();
  const resourceGroup = input.resourceGroup ?? settings.resourceGroup;
  const environment = input.environment ?? settings.environment;
  const dryRun = input.dryRun ?? false;
  const { workflowId } = workflowInfo();
  const source = input.sourceServer;
  const target = input.targetServer ?? restoredServerName(source, workflowId);
  const progress = new Progress(settings.lang, {
    kind: 'pointInTimeRestore',
    target: source,
    environment,
    dryRun,
    steps: 7,
    summary: '',
  });
  progress.status.summary = progress.msg('restore.summary', { source, point: input.restoreTo, environment });
  const gates = approvalGates(progress, input.approvals, input.initiator);
  const timings: Record<string, number> = {};
  const cutovers: AppCutover[] = [];
  const details: Record<string, unknown> = { targetServer: target, apps: cutovers, timings };
  progress.status.details = details;
  const mark = (phase: string, since: number) => {
    timings[phase] = Date.now() - since;
  };
  const appNames = input.apps.map((a) => a.app).join(', ');

  const locks = [
    `postgres-${resourceGroup}-${source}`,
    ...input.apps.map((a) => `containerapp-${resourceGroup}-${a.app}`).sort(),
  ];
  const onLockWait = (resource: string) =>
    progress.log({ event: 'waiting', detail: progress.msg('lock.waiting', { resource }) });
  // Every second of a restore is RTO: the locks are asked for while the read-only preflight runs
  // and awaited before the first mutation (a dry run takes none).
  const local = patched('restore-preflight-local');
  const pre = local ? reads : arm;
  const lease: Lease | undefined =
    !dryRun && patched('restore-lock-during-preflight')
      ? lockAll(locks, input.lock, onLockWait, { local })
      : undefined;
  try {
    return await restoreRun(lease);
  } finally {
    await lease?.release();
  }

  async function restoreRun(lease: Lease | undefined): Promise<RestoreResult> {
    // 1. Preflight (read-only): source, backups, window, where each app points today.
    progress.step(1, 'restore.step.preflight', { source });
    const ref = { resourceGroup, server: source };
    // Both reads at once (the source may not exist: then only the first answer matters). As
    // local activities the apps are inspected in the same breath: a local activity issued after
    // another resolved would not replay (see lockAll).
    const inspections = local
      ? Promise.all(
          input.apps.map((a) => pre.inspectDatabaseUrl({ resourceGroup, app: a.app, ref: a.databaseUrl })),
        ).then(
          (seen) => ({ seen }),
          (err: unknown) => ({ err }),
        )
      : undefined;
    const [src, listed] = await Promise.all([
      pre.readServer(ref),
      pre.listServerBackups(ref).then(
        (b) => ({ b }),
        (err: unknown) => ({ err }),
      ),
    ]);
    const refuse = (reason: string, type: string): never => {
      progress.finish('failed', 'rejected', reason);
      throw ApplicationFailure.nonRetryable(reason, type);
    };
    if (!src) return refuse(`source server ${source} not found in ${resourceGroup}`, 'ServerNotFound');
    if (!src.hostPort)
      return refuse(`source server ${source} has no address (state ${src.state})`, 'ServerNotReady');
    if ('err' in listed) throw listed.err;
    const backups = listed.b;
    const pointInTime = input.restoreTo === 'latest' ? new Date(Date.now()) : new Date(input.restoreTo);
    const window = checkRestoreWindow(pointInTime, backups, new Date(Date.now()));
    if (!window.ok) return refuse(window.reason, 'RestorePointOutsideWindow');
    const point = window.pointInTime;
    const incident = input.incidentAt ? Date.parse(input.incidentAt) : started;
    const expectedRpo = incident - Date.parse(point);
    details.pointInTime = point;
    details.backup = window.backup.name;
    progress.log({
      event: 'window',
      detail: `restore point ${point} from backup ${window.backup.name} (completed ${window.backup.completedTime}); expected data loss window ${formatDuration(Math.max(0, expectedRpo))}`,
    });
    const appHosts: Record<string, string> = {};
    const inspected = await inspections;
    if (inspected && 'err' in inspected) throw inspected.err;
    for (const [i, a] of input.apps.entries()) {
      const seen = inspected
        ? inspected.seen[i]!
        : await arm.inspectDatabaseUrl({ resourceGroup, app: a.app, ref: a.databaseUrl });
      appHosts[a.app] = seen.host;
      progress.log({
        event: 'app',
        step: a.app,
        detail: `DATABASE_URL (${'secretRef' in a.databaseUrl ? `secret ${a.databaseUrl.secretRef}` : `env ${a.databaseUrl.envVar}`}) → ${seen.host}; serving ${seen.serving.join(', ') || 'nothing'}`,
      });
      if (seen.host !== src.hostPort) {
        return refuse(
          `${a.app}'s DATABASE_URL points at ${seen.host}, not at ${source} (${src.hostPort}); restore from the server it uses`,
          'AppNotOnSource',
        );
      }
    }
    const plan = [
      `restore ${source} at ${point} (backup ${window.backup.name}) into new server ${target}`,
      `verify: tables, write times ≤ ${point}, ${input.verify.length} custom quer${input.verify.length === 1 ? 'y' : 'ies'}`,
      ...(input.apps.length
        ? [
            `approval gate "cutover" (${input.approvals.quorum} of ${input.approvals.allow.join(', ') || 'anyone but the initiator'})`,
            ...input.apps.map(
              (a) =>
                `${a.app}: ${'secretRef' in a.databaseUrl ? `secret ${a.databaseUrl.secretRef} + restart` : `env ${a.databaseUrl.envVar} in a new revision`} → ${target}; health on it within ${formatDuration(input.healthTimeout)}, else back to ${source}`,
            ),
          ]
        : []),
      `RTO/RPO against ${environment} targets`,
    ];
    const result = (
      outcome: RestoreOutcome,
      reason: string,
      extra: Partial<RestoreResult> = {},
    ): RestoreResult => ({
      outcome,
      sourceServer: source,
      targetServer: target,
      pointInTime: point,
      backup: window.backup.name,
      reason,
      apps: cutovers,
      timings,
      ...extra,
    });
    mark('preflight', started);
    if (dryRun) {
      progress.finish('planned', 'planned', progress.msg('dryRun.plan'));
      return result('planned', `would restore into ${target}`, { plan });
    }

    // Histories from before 'restore-lock-during-preflight' took the locks here, nested.
    const locked = <T>(names: string[], fn: () => Promise<T>): Promise<T> =>
      lease
        ? lease.held.then(fn)
        : names.length === 0
          ? fn()
          : withLock(names[0]!, input.lock, onLockWait, () => locked(names.slice(1), fn));

    return locked(locks, async () => {
      // 2. Restore into the new server (retry-safe: its name and tags identify this request).
      progress.step(2, 'restore.step.restore', { target });
      const t2 = Date.now();
      const restored = await restores.restoreServer({
        resourceGroup,
        source,
        sourceView: { id: src.id, location: src.location },
        target,
        pointInTime: point,
        tags: { [restoreTags.runbook]: workflowId },
      });
      mark('restore', t2);
      const to: ServerView = restored.server;
      details.targetHost = to.hostPort;
      progress.log({
        event: 'restored',
        step: target,
        detail: `${target} ${restored.created ? 'restored' : 'already restored (reused)'}: ${to.state} on ${to.hostPort} in ${formatDuration(timings['restore']!)}`,
      });

      // Restored and nothing left to change (no app to cut over): the source and apps are free
      // again while the verification reads the new server.
      // (The finally awaits the same release and reports its failure.)
      if (input.apps.length === 0 && lease && patched('restore-release-before-verify'))
        lease.release({ now: local }).catch(() => undefined);

      // 3. Verify the data on the restored server.
      progress.step(3, 'restore.step.verify', { target });
      const t3 = Date.now();
      const verifier = patched('restore-verify-local') ? checks : db;
      const verification: VerificationReport = await verifier.verifyRestoredDatabase({
        resourceGroup,
        server: target,
        database: input.database,
        pointInTime: point,
        ...(input.expectTables ? { expectTables: input.expectTables } : {}),
        verify: input.verify,
      });
      mark('verify', t3);
      details.verification = verification;
      for (const c of verification.checks)
        progress.log({ event: c.ok ? 'check-ok' : 'check-failed', step: c.name, detail: c.detail });

      const recovery = () => judgeRecovery(environment, Date.now() - started, incident - Date.parse(point));
      if (input.apps.length === 0) {
        const rec = recovery();
        progress.step(7, 'restore.step.report');
        progress.finish(
          'completed',
          'restored',
          progress.msg('restore.restoredOnly', { target, recovery: rec.summary }),
        );
        return result('restored', `${target} restored and verified (${verificationSummary(verification)})`, {
          verification,
          recovery: rec,
        });
      }

      // 4. Approval gate, with the verification in the prompt.
      progress.step(4, 'restore.step.gate', { target });
      const t4 = Date.now();
      const decision = await gates.open(
        'cutover',
        progress.msg('restore.gate.prompt', {
          target,
          point,
          verification: verificationSummary(verification),
          apps: appNames,
        }),
      );
      mark('approval', t4);
      if (decision !== 'approved') {
        const reason = `gate cutover ${decision}`;
        progress.finish('completed', 'not-cut-over', progress.msg('restore.notCutOver', { target, reason }));
        return result('not-cut-over', `${target} restored and kept; ${reason}`, { verification });
      }

      // 5. Cut over app by app; each must be healthy on the restored server.
      progress.step(5, 'restore.step.cutover', { target });
      const t5 = Date.now();
      let failure: string | undefined;
      for (const a of input.apps) {
        const from = appHosts[a.app]!;
        const done = await cut.pointDatabaseUrl({
          resourceGroup,
          app: a.app,
          ref: a.databaseUrl,
          fromHost: from,
          toHost: to.hostPort!,
          suffix: cutoverSuffix(workflowId),
        });
        const health = await cut.checkAppDatabase({
          resourceGroup,
          app: a.app,
          expectHost: to.hostPort!,
          timeoutMs: input.healthTimeout,
        });
        const detail = health.probes
          .map(
            (p) =>
              `${p.target}: ${p.httpStatus ?? p.error} db ${p.database?.status ?? '?'}${p.database?.server ? ` @ ${p.database.server}` : ''}`,
          )
          .join('; ');
        const c: AppCutover = {
          app: a.app,
          ref: a.databaseUrl,
          from,
          to: to.hostPort!,
          changed: done.changed,
          restarted: done.restarted,
          healthy: health.ok,
          detail,
        };
        cutovers.push(c);
        progress.log({
          event: health.ok ? 'cutover' : 'cutover-unhealthy',
          step: a.app,
          detail: `${from} → ${to.hostPort}${done.restarted.length ? `; restarted ${done.restarted.join(', ')}` : ''}${done.revision ? `; revision ${done.revision}` : ''}; ${detail}`,
        });
        if (!health.ok) {
          failure = `${a.app} not healthy on ${target} within ${formatDuration(input.healthTimeout)} (${detail})`;
          break;
        }
      }
      mark('cutover', t5);

      // 6. Not healthy: every app switched so far goes back to the source, nothing half-switched.
      if (failure) {
        progress.step(6, 'restore.step.revert');
        const t6 = Date.now();
        for (const c of [...cutovers].reverse()) {
          const a = input.apps.find((x) => x.app === c.app)!;
          const back = await cut.pointDatabaseUrl({
            resourceGroup,
            app: c.app,
            ref: a.databaseUrl,
            fromHost: c.to,
            toHost: c.from,
            suffix: cutoverSuffix(workflowId, true),
          });
          const health = await cut.checkAppDatabase({
            resourceGroup,
            app: c.app,
            expectHost: c.from,
            timeoutMs: input.healthTimeout,
          });
          c.reverted = true;
          progress.log({
            event: health.ok ? 'reverted' : 'revert-unhealthy',
            step: c.app,
            detail: `${c.to} → ${c.from}${back.restarted.length ? `; restarted ${back.restarted.join(', ')}` : ''}; ${health.ok ? 'healthy again' : 'STILL UNHEALTHY — needs a person'}`,
          });
        }
        mark('revert', t6);
        progress.finish(
          'rolled-back',
          'reverted',
          progress.msg('restore.reverted', { target, source, reason: failure }),
        );
        return result('reverted', failure, { verification });
      }

      // 7. RTO: start → healthy on the restored server. RPO: incident (or start) → restore point.
      progress.step(7, 'restore.step.report');
      const rec = recovery();
      details.recovery = rec;
      progress.log({ event: rec.met ? 'targets-met' : 'targets-missed', detail: rec.summary });
      progress.finish(
        'completed',
        'restored',
        progress.msg('restore.done', { apps: appNames, target, recovery: rec.summary }),
      );
      return result('restored', `${appNames} on ${target}; ${rec.summary}`, { verification, recovery: rec });
    });
  }
}
