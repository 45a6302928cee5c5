import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  type HealthCheckInput,
  type HealthReport,
  healthCheckInput,
  judgeApp,
  judgeRevision,
  type Probe,
} from '../domain/healthCheck';
import { validateInput } from './lib/input';
import { Progress } from './lib/progress';

// 日次運用 → ヘルスチェック: `curl /health` must answer 200, the DB must be reachable and the LLM
// circuit closed. We also look behind the ingress: every active revision is probed directly,
// because a revision at 10% can be broken while the app as a whole still looks fine.

const { runbookSettings } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s' });
const arm = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { maximumAttempts: 5, initialInterval: '1s' },
});
const http = proxyActivities<Activities>({
  // A probe has its own timeout and never throws for a bad answer; retries are for the worker.
  startToCloseTimeout: '2m',
  retry: { maximumAttempts: 3 },
});

export interface HealthCheckPlan {
  dryRun: true;
  app: string;
  resourceGroup: string;
  probes: string[];
}

export async function healthCheck(raw: HealthCheckInput): Promise<HealthReport | HealthCheckPlan> {
  const input = validateInput(healthCheckInput, raw);
  const settings = await runbookSettings();
  const resourceGroup = input.resourceGroup ?? settings.resourceGroup;
  const environment = input.environment ?? settings.environment;
  const dryRun = input.dryRun ?? false;
  const progress = new Progress(settings.lang, {
    kind: 'healthCheck',
    target: input.app,
    environment,
    dryRun,
    steps: 4,
    summary: '',
  });
  progress.status.summary = progress.msg('health.summary', { app: input.app, environment });

  // 1. Read the app and its revisions through ARM.
  progress.step(1, 'health.step.read');
  const app = await arm.readApp({ resourceGroup, app: input.app });
  const active = app.revisions.filter((r) => r.active);
  progress.log({
    event: 'read',
    detail: `${app.revisionMode} mode; active: ${active.map((r) => `${r.name}=${r.trafficWeight}%`).join(', ') || 'none'}`,
  });

  if (dryRun) {
    const probes = [app.ingressUrl, ...active.map((r) => r.url)]
      .filter((u): u is string => !!u)
      .map((u) => `${u}/health`);
    progress.finish('planned', 'planned', progress.msg('dryRun.plan'));
    return { dryRun: true, app: input.app, resourceGroup, probes };
  }

  const timeoutMs = input.timeoutMs ?? 5000;
  // 2. Probe /health through the ingress, as a user would reach it.
  progress.step(2, 'health.step.ingress');
  let ingress: Probe | undefined;
  if (app.ingressUrl) {
    ingress = await http.probeHealth({ url: app.ingressUrl, timeoutMs });
    progress.log({ event: 'probe', detail: `ingress → ${ingress.httpStatus ?? ingress.error}` });
  } else {
    progress.log({ event: 'probe', detail: 'no ingress configured' });
  }

  // 3. Probe each active revision directly.
  progress.step(3, 'health.step.revisions');
  const revisions = await Promise.all(
    active.map(async (rev) => {
      const probe = rev.url ? await http.probeHealth({ url: rev.url, timeoutMs }) : undefined;
      const judged = judgeRevision(rev, probe);
      progress.log({
        event: 'probe',
        step: rev.name,
        detail: `${judged.verdict}${judged.reasons.length ? `: ${judged.reasons.join(', ')}` : ''}`,
      });
      return judged;
    }),
  );

  // 4. Judge and report.
  progress.step(4, 'health.step.report');
  const { verdict, reasons } = judgeApp(ingress, revisions);
  const report: HealthReport = {
    app: input.app,
    resourceGroup,
    environment,
    checkedAt: new Date().toISOString(),
    ...(ingress ? { ingress } : {}),
    revisions,
    verdict,
    reasons,
  };
  const detail = progress.msg('health.verdict', { app: input.app, verdict });
  progress.finish('completed', verdict, reasons.length ? `${detail} (${reasons.join('; ')})` : detail);
  return report;
}
