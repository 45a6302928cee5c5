import { ApplicationFailure, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { formatDuration } from '../domain/duration';
import {
  type FullOutageRecoveryConfig,
  type FullOutageRecoveryInput,
  type FullOutageResult,
  fullOutageRecoveryInput,
  missingSecretSources,
  type RecoveryFinding,
} from '../domain/restore';
import { validateInput } from './lib/input';
import { withLock } from './lib/lock';
import { Progress } from './lib/progress';

// 障害復旧手順 (DR) → 全サービスダウンからの復旧: 1. check the running state and revisions through
// ARM, 2. start what is stopped, 3. redeploy from the last known-good spec when the app is gone
// (the manual's "terraform apply", 最終手段), 4. check alembic_version, 5. health check, 6. report.
// Every step records what it found and what it did.

const { runbookSettings } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s' });
const arm = proxyActivities<Activities>({
  startToCloseTimeout: '15m',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});
const db = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  retry: { initialInterval: '2s', maximumInterval: '30s', maximumAttempts: 5 },
});
const waits = proxyActivities<Activities>({
  startToCloseTimeout: '45m',
  retry: { initialInterval: '2s', maximumAttempts: 3 },
});

export async function fullOutageRecovery(raw: FullOutageRecoveryInput): Promise<FullOutageResult> {
  const input: FullOutageRecoveryConfig = validateInput(fullOutageRecoveryInput, raw);
  const settings = await runbookSettings();
  const resourceGroup = input.resourceGroup ?? settings.resourceGroup;
  const environment = input.environment ?? settings.environment;
  const dryRun = input.dryRun ?? false;
  const ref = { resourceGroup, app: input.app };
  const progress = new Progress(settings.lang, {
    kind: 'fullOutageRecovery',
    target: input.app,
    environment,
    dryRun,
    steps: 6,
    summary: '',
  });
  progress.status.summary = progress.msg('outage.summary', { app: input.app, environment });
  const findings: RecoveryFinding[] = [];
  progress.status.details = { findings };
  const found = (step: string, what: string, action?: string) => {
    findings.push({ step, found: what, ...(action ? { action } : {}) });
    progress.log({ event: 'found', step, detail: action ? `${what} → ${action}` : what });
  };

  // 1. What is there: the app, its running state and revisions; the database server.
  progress.step(1, 'outage.step.inspect');
  const status = await arm.appStatus(ref);
  const server = input.database
    ? await arm.readServer({ resourceGroup, server: input.database.server })
    : undefined;
  const plan: string[] = [];
  if (input.database) {
    if (!server) found('1', `database server ${input.database.server} not found`, 'needs pointInTimeRestore');
    else {
      found('1', `database server ${server.name}: ${server.state}`);
      if (server.state === 'Stopped') plan.push(`start server ${server.name}`);
    }
  }
  const serving = status.revisions.filter((r) => r.trafficWeight > 0);
  if (!status.exists) {
    found('1', `${input.app} does not exist`);
    const spec = await arm.readKnownGoodSpec(ref);
    if (!spec) {
      const reason = `${input.app} is gone and no known-good spec was recorded (recordKnownGoodSpec runs after each promotion)`;
      progress.finish('failed', 'unrecovered', reason);
      throw ApplicationFailure.nonRetryable(reason, 'NoKnownGoodSpec');
    }
    const missing = missingSecretSources(spec.spec, input.secrets);
    if (missing.length) {
      const reason = `cannot redeploy ${input.app}: the registry keeps secret names only; pass input.secrets for ${missing.join(', ')}`;
      progress.finish('failed', 'unrecovered', reason);
      throw ApplicationFailure.nonRetryable(reason, 'MissingSecrets');
    }
    found('1', `known-good spec recorded ${spec.recordedAt} (${spec.image ?? 'image?'})`);
    plan.push(`redeploy ${input.app} from the spec of ${spec.recordedAt}`);
  } else {
    found(
      '1',
      `${input.app}: provisioning ${status.provisioningState ?? '?'}, running ${status.runningState ?? '?'}, ${status.revisionMode} mode; ` +
        `revisions with traffic: ${serving.map((r) => `${r.name}=${r.trafficWeight}% ${r.active ? r.runningState : 'inactive'}/${r.healthState}`).join(', ') || 'none'}`,
    );
    if (status.runningState !== 'Running') plan.push(`start ${input.app}`);
    for (const r of serving) {
      if (!r.active) plan.push(`activate ${r.name}`);
      else plan.push(`restart ${r.name} if its /health fails`);
    }
  }
  plan.push(
    ...(input.database
      ? [`compare alembic_version with ${input.expectedSchemaRevision ?? '(no expectation)'}`]
      : []),
    `health check within ${formatDuration(input.healthTimeout)}`,
  );
  if (dryRun) {
    progress.finish('planned', 'planned', progress.msg('dryRun.plan'));
    return { outcome: 'planned', app: input.app, reason: 'dry run', findings, plan };
  }

  return withLock(
    `containerapp-${resourceGroup}-${input.app}`,
    input.lock,
    (resource) => progress.log({ event: 'waiting', detail: progress.msg('lock.waiting', { resource }) }),
    async () => {
      let acted = false;
      // 2. Start what is stopped: the database first (the app needs it), then the app.
      progress.step(2, 'outage.step.start');
      if (server?.state === 'Stopped') {
        await arm.startServer({ resourceGroup, server: server.name });
        acted = true;
        found('2', `server ${server.name} was stopped`, 'started');
      }
      if (status.exists) {
        if (status.runningState !== 'Running') {
          const r = await arm.startApp(ref);
          acted ||= r.changed;
          found(
            '2',
            `${input.app} was ${status.runningState ?? 'not running'}`,
            r.changed ? 'started' : 'already running',
          );
        }
        for (const rev of serving) {
          if (!rev.active) {
            const r = await arm.activateRevision({ ...ref, revision: rev.name });
            acted ||= r.changed;
            found(
              '2',
              `${rev.name} has ${rev.trafficWeight}% but was inactive`,
              r.changed ? 'activated' : 'already active',
            );
          } else {
            const r = await arm.restartIfUnhealthy({ ...ref, revision: rev.name });
            acted ||= r.restarted;
            found(
              '2',
              `${rev.name}: /health ${r.before.httpStatus ?? r.before.error}${r.before.database ? `, db ${r.before.database.status}` : ''}`,
              r.restarted ? 'restarted' : undefined,
            );
          }
        }
      } else {
        found('2', 'nothing to start: the app is gone');
      }

      // 3. Redeploy from the last known-good spec when the app is gone.
      progress.step(3, 'outage.step.redeploy');
      if (!status.exists) {
        const spec = (await arm.readKnownGoodSpec(ref))!;
        const r = await arm.redeployApp({ ...ref, spec: spec.spec, secrets: input.secrets });
        acted = true;
        found(
          '3',
          `${input.app} was missing`,
          r.created ? `redeployed (${r.latestRevision ?? 'new revision'})` : 'already redeployed',
        );
      } else {
        found('3', 'the app exists; no redeploy');
      }

      // 4. Schema version (alembic current) against the expected revision.
      progress.step(4, 'outage.step.schema');
      let schema: FullOutageResult['schema'];
      if (input.database) {
        const s = await db.schemaRevision({
          resourceGroup,
          server: input.database.server,
          database: input.database.name,
        });
        const matches = input.expectedSchemaRevision
          ? s.reachable && s.revisions.length === 1 && s.revisions[0] === input.expectedSchemaRevision
          : undefined;
        schema = {
          ...(input.expectedSchemaRevision ? { expected: input.expectedSchemaRevision } : {}),
          actual: s.revisions,
          matches,
        };
        found(
          '4',
          s.reachable
            ? `alembic_version ${s.revisions.join(',') || '(empty)'}${input.expectedSchemaRevision ? ` (expected ${input.expectedSchemaRevision}: ${matches ? 'match' : 'MISMATCH — run the migration runbook (alembic upgrade head)'})` : ''}`
            : `database unreachable: ${s.error}`,
        );
      } else {
        found('4', 'no database given; schema not checked');
      }

      // 5. Health: every serving revision and the ingress answer with the database ok.
      progress.step(5, 'outage.step.health');
      const expectHost = server?.hostPort ?? '';
      const health = await waits.checkAppDatabase({
        ...ref,
        expectHost,
        timeoutMs: input.healthTimeout,
      });
      const detail = health.probes
        .map((p) => `${p.target}: ${p.httpStatus ?? p.error} db ${p.database?.status ?? '?'}`)
        .join('; ');
      found(
        '5',
        `${health.ok ? 'healthy' : 'NOT healthy'} after ${formatDuration(health.waitedMs)}: ${detail}`,
      );

      // 6. Report.
      progress.step(6, 'outage.step.report');
      const schemaOk = schema?.matches !== false;
      const outcome = health.ok && schemaOk ? (acted ? 'recovered' : 'healthy') : 'unrecovered';
      const reason = `${health.ok ? 'healthy' : 'unhealthy'}${schema ? `; schema ${schema.matches === undefined ? schema.actual.join(',') : schema.matches ? 'matches' : 'MISMATCH'}` : ''}`;
      progress.finish(
        outcome === 'unrecovered' ? 'failed' : 'completed',
        outcome,
        progress.msg('outage.done', { app: input.app, outcome, detail: reason }),
      );
      return {
        outcome,
        app: input.app,
        reason,
        findings,
        ...(schema ? { schema } : {}),
        health: { ok: health.ok, detail },
      };
    },
  );
}
