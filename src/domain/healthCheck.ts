import { z } from 'zod';
import { appName, environmentName, resourceGroupName } from './input';

export const healthCheckInput = z.strictObject({
  app: appName,
  resourceGroup: resourceGroupName.optional(),
  environment: environmentName.optional(),
  /** Per-probe timeout. */
  timeoutMs: z.number().int().min(100).max(60_000).optional(),
  dryRun: z.boolean().optional(),
});
export type HealthCheckInput = z.output<typeof healthCheckInput>;

/** The sandbox app's and FluentEdge's /health body; unknown fields are kept. */
export const healthBody = z.looseObject({
  status: z.string(),
  revision: z.string().optional(),
  image: z.string().optional(),
  database: z
    .looseObject({ status: z.string(), server: z.string().optional(), error: z.string().optional() })
    .optional(),
  redis: z.looseObject({ status: z.string(), error: z.string().optional() }).optional(),
  llm: z.looseObject({ provider: z.string().optional(), circuit: z.string() }).optional(),
});
export type HealthBody = z.output<typeof healthBody>;

export interface Probe {
  url: string;
  httpStatus?: number;
  latencyMs: number;
  body?: HealthBody;
  /** Which revision answered, when the ingress says so. */
  servedBy?: string;
  error?: string;
}

export interface RevisionView {
  name: string;
  active: boolean;
  trafficWeight: number;
  runningState?: string;
  healthState?: string;
  provisioningState?: string;
  image?: string;
  url?: string;
}

export interface AppView {
  name: string;
  resourceGroup: string;
  revisionMode: string;
  latestRevisionName?: string;
  ingressUrl?: string;
  provisioningState?: string;
  revisions: RevisionView[];
}

export type Verdict = 'healthy' | 'degraded' | 'unhealthy';

export interface RevisionHealth extends RevisionView {
  probe?: Probe;
  verdict: Verdict;
  reasons: string[];
}

export interface HealthReport {
  app: string;
  resourceGroup: string;
  environment: string;
  checkedAt: string;
  ingress?: Probe;
  revisions: RevisionHealth[];
  verdict: Verdict;
  reasons: string[];
}

const rank: Record<Verdict, number> = { healthy: 0, degraded: 1, unhealthy: 2 };
export const worst = (vs: Verdict[]): Verdict =>
  vs.reduce<Verdict>((a, b) => (rank[b] > rank[a] ? b : a), 'healthy');

/** The manual's daily check: /health 200, DB reachable, LLM circuit closed; Redis down only degrades. */
export function judgeProbe(probe: Probe | undefined): { verdict: Verdict; reasons: string[] } {
  if (!probe) return { verdict: 'unhealthy', reasons: ['not probed'] };
  if (probe.error) return { verdict: 'unhealthy', reasons: [`unreachable: ${probe.error}`] };
  const reasons: string[] = [];
  let verdict: Verdict = 'healthy';
  const body = probe.body;
  if (probe.httpStatus !== 200) {
    verdict = 'unhealthy';
    reasons.push(`/health returned ${probe.httpStatus}`);
  }
  if (!body) return { verdict: 'unhealthy', reasons: [...reasons, '/health body is not the expected JSON'] };
  if (body.database && body.database.status !== 'ok') {
    verdict = 'unhealthy';
    reasons.push(`database ${body.database.status}${body.database.error ? `: ${body.database.error}` : ''}`);
  }
  if (body.status === 'unhealthy' && verdict !== 'unhealthy') {
    verdict = 'unhealthy';
    reasons.push('app reports unhealthy');
  }
  if (body.redis && body.redis.status !== 'ok') {
    verdict = worst([verdict, 'degraded']);
    reasons.push(`redis ${body.redis.status}`);
  }
  if (body.llm && body.llm.circuit !== 'closed') {
    verdict = worst([verdict, 'degraded']);
    reasons.push(`LLM circuit ${body.llm.circuit} (${body.llm.provider ?? 'provider?'})`);
  }
  if (body.status === 'degraded' && verdict === 'healthy') {
    verdict = 'degraded';
    reasons.push('app reports degraded');
  }
  return { verdict, reasons };
}

/** Revisions that serve traffic decide the app's verdict; an idle active revision only degrades it. */
export function judgeRevision(rev: RevisionView, probe: Probe | undefined): RevisionHealth {
  const judged = judgeProbe(probe);
  const reasons = [...judged.reasons];
  let verdict = judged.verdict;
  if (rev.runningState && !['Running', 'RunningAtMaxScale'].includes(rev.runningState)) {
    verdict = 'unhealthy';
    reasons.push(`running state ${rev.runningState}`);
  }
  if (rev.healthState === 'Unhealthy' && verdict === 'healthy') {
    verdict = 'degraded';
    reasons.push('ARM reports health Unhealthy');
  }
  return { ...rev, ...(probe ? { probe } : {}), verdict, reasons };
}

export function judgeApp(
  ingress: Probe | undefined,
  revisions: RevisionHealth[],
): { verdict: Verdict; reasons: string[] } {
  const reasons: string[] = [];
  const verdicts: Verdict[] = [];
  const ing = judgeProbe(ingress);
  verdicts.push(ing.verdict);
  reasons.push(...ing.reasons.map((r) => `ingress: ${r}`));
  const active = revisions.filter((r) => r.active);
  if (active.length === 0) {
    verdicts.push('unhealthy');
    reasons.push('no active revision');
  }
  for (const rev of active) {
    if (rev.verdict === 'healthy') continue;
    const serving = rev.trafficWeight > 0;
    verdicts.push(serving ? rev.verdict : 'degraded');
    reasons.push(`${rev.name} (${rev.trafficWeight}%): ${rev.reasons.join(', ')}`);
  }
  return { verdict: worst(verdicts), reasons };
}
