import {
  ApplicationFailure,
  proxyActivities,
  proxyLocalActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { formatDuration } from '../domain/duration';
import {
  checkRestoreWindow,
  type DrDrillConfig,
  type DrDrillInput,
  type DrillResult,
  type DrillTrendEntry,
  drDrillInput,
  judgeRecovery,
  restoredServerName,
  restoreTags,
  trendSummary,
  verificationSummary,
} from '../domain/restore';
import { validateInput } from './lib/input';
import { Progress } from './lib/progress';

// DR drill (meant for a weekly Temporal Schedule): prove the backups restore, inside the
// manual's RTO/RPO, without touching anything that serves users. Restores `latest` (or a given
// time) into a scratch server tagged as this drill's, verifies it, measures, deletes it, and
// reports the trend of earlier drills of the same server. It takes no lock: a drill must never
// delay a real restore of the same server.

const { runbookSettings } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s' });
const arm = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});
const restores = proxyActivities<Activities>({
  startToCloseTimeout: '2h',
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 5 },
});
const db = proxyActivities<Activities>({
  startToCloseTimeout: '10m',
  retry: { initialInterval: '2s', maximumInterval: '30s', maximumAttempts: 8 },
});

const PURPOSE = 'dr-drill';

export async function drDrill(raw: DrDrillInput): Promise<DrillResult> {
  const input: DrDrillConfig = validateInput(drDrillInput, raw);
  const started = Date.now();
  const settings = await runbookSettings();
  const resourceGroup = input.resourceGroup ?? settings.resourceGroup;
  const environment = input.environment ?? settings.environment;
  const dryRun = input.dryRun ?? false;
  const { workflowId } = workflowInfo();
  const source = input.sourceServer;
  const scratch = restoredServerName(source, workflowId, 'drill');
  const progress = new Progress(settings.lang, {
    kind: 'drDrill',
    target: source,
    environment,
    dryRun,
    steps: 6,
    summary: '',
  });
  progress.status.summary = progress.msg('drill.summary', { source, point: input.restoreTo, environment });
  const timings: Record<string, number> = {};
  const details: Record<string, unknown> = { scratchServer: scratch, timings };
  progress.status.details = details;
  let trend: DrillTrendEntry[] = [];
  const base = { sourceServer: source, scratchServer: scratch, timings };

  // 1. Backups and the window; the trend of earlier drills.
  progress.step(1, 'drill.step.preflight', { source });
  const src = await arm.readServer({ resourceGroup, server: source });
  if (!src) {
    progress.finish('failed', 'rejected', `source server ${source} not found`);
    throw ApplicationFailure.nonRetryable(
      `source server ${source} not found in ${resourceGroup}`,
      'ServerNotFound',
    );
  }
  const backups = await arm.listServerBackups({ resourceGroup, server: source });
  const pointInTime = input.restoreTo === 'latest' ? new Date(Date.now()) : new Date(input.restoreTo);
  const window = checkRestoreWindow(pointInTime, backups, new Date(Date.now()));
  trend = await arm.listDrills({ sourceServer: source, limit: input.trend, exclude: workflowId });
  details.trend = trend;
  progress.log({ event: 'trend', detail: trendSummary(trend) });
  if (!window.ok) {
    // A drill that cannot restore is a failed drill (that is what it is for), not a bad input.
    progress.finish('failed', 'failed', window.reason);
    return { ...base, outcome: 'failed', scratchDeleted: false, reason: window.reason, trend };
  }
  const point = window.pointInTime;
  progress.log({
    event: 'window',
    detail: `${backups.length} backups; restore point ${point} from ${window.backup.name}`,
  });
  if (dryRun) {
    progress.finish('planned', 'planned', progress.msg('dryRun.plan'));
    return {
      ...base,
      outcome: 'planned',
      pointInTime: point,
      backup: window.backup.name,
      scratchDeleted: false,
      reason: `would restore into ${scratch}`,
      trend,
      plan: [
        `restore ${source} at ${point} into scratch server ${scratch}`,
        'verify tables, write times and custom queries',
        `measure RTO/RPO against ${environment} targets`,
        input.keepScratch ? `keep ${scratch}` : `delete ${scratch}`,
      ],
    };
  }

  // 2. Restore into the scratch server, tagged as this drill's (only such a server is deleted).
  progress.step(2, 'drill.step.restore', { target: scratch });
  const t2 = Date.now();
  const restored = await restores.restoreServer({
    resourceGroup,
    source,
    sourceView: { id: src.id, location: src.location },
    target: scratch,
    pointInTime: point,
    tags: { [restoreTags.runbook]: workflowId, [restoreTags.purpose]: PURPOSE },
  });
  timings['restore'] = Date.now() - t2;
  progress.log({
    event: 'restored',
    detail: `${scratch} on ${restored.server.hostPort} in ${formatDuration(timings['restore'])}`,
  });

  let scratchDeleted = false;
  const cleanup = async () => {
    if (input.keepScratch) {
      progress.log({ event: 'kept', detail: `${scratch} kept for inspection (keepScratch)` });
      return;
    }
    progress.step(5, 'drill.step.cleanup', { target: scratch });
    const d = await arm.deleteScratchServer({
      resourceGroup,
      server: scratch,
      purpose: PURPOSE,
      runbook: workflowId,
    });
    scratchDeleted = true;
    progress.log({
      event: 'deleted',
      detail: d.deleted ? `${scratch} deleted` : `${scratch} was already gone`,
    });
  };

  // 3. Verify.
  progress.step(3, 'drill.step.verify');
  const t3 = Date.now();
  let verification: Awaited<ReturnType<typeof db.verifyRestoredDatabase>>;
  try {
    verification = await db.verifyRestoredDatabase({
      resourceGroup,
      server: scratch,
      database: input.database,
      pointInTime: point,
      ...(input.expectTables ? { expectTables: input.expectTables } : {}),
      verify: input.verify,
    });
  } catch (err) {
    await cleanup();
    const reason = `verification could not run: ${(err as Error).message}`;
    progress.finish('failed', 'failed', reason);
    return {
      ...base,
      outcome: 'failed',
      pointInTime: point,
      backup: window.backup.name,
      scratchDeleted,
      reason,
      trend,
    };
  }
  timings['verify'] = Date.now() - t3;
  for (const c of verification.checks)
    progress.log({ event: c.ok ? 'check-ok' : 'check-failed', step: c.name, detail: c.detail });

  // 4. RTO: start → verified data on the scratch server. RPO: start → restore point.
  progress.step(4, 'drill.step.measure');
  const recovery = judgeRecovery(environment, Date.now() - started, started - Date.parse(point));
  details.recovery = recovery;
  progress.log({ event: recovery.met ? 'targets-met' : 'targets-missed', detail: recovery.summary });

  // 5. Clean up; 6. report with the trend.
  await cleanup();
  progress.step(6, 'drill.step.report');
  const passed = verification.ok && recovery.met;
  const outcome = passed ? 'passed' : 'failed';
  const reason = `${verificationSummary(verification)}; ${recovery.summary}`;
  progress.log({ event: 'trend', detail: trendSummary(trend) });
  progress.finish(
    passed ? 'completed' : 'failed',
    outcome,
    progress.msg('drill.done', { outcome, recovery: reason }),
  );
  return {
    ...base,
    outcome,
    pointInTime: point,
    backup: window.backup.name,
    verification,
    recovery,
    scratchDeleted,
    reason,
    trend,
  };
}
