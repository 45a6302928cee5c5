import type { z } from 'zod';
import { canaryInput, canaryWorkflowId } from './canary';
import { type HealthReport, healthCheckInput } from './healthCheck';
import {
  type DrillResult,
  drDrillInput,
  type FullOutageResult,
  fullOutageRecoveryInput,
  pointInTimeRestoreInput,
  type RestoreResult,
  restoreWorkflowId,
} from './restore';

// What the CLI (and CI) need to know about each runbook before starting it: the input schema the
// workflow itself validates with, a deterministic id, the UI summary, and what counts as success.

export interface RunbookEntry<S extends z.ZodType = z.ZodType> {
  kind: string;
  schema: S;
  /** Deterministic where the change is (so a retried CI job attaches); timestamped for checks. */
  workflowId(input: z.output<S>, now: Date): string;
  summary(input: z.output<S>): string;
  /** A completed run whose result says the system is not OK still exits 1. */
  succeeded(result: unknown): boolean;
  /**
   * Outcomes after which `--wait` stops following even though the workflow runs on (a promoted
   * canary keeps its rollback window open), with whether each counts as success.
   */
  finalOutcomes?: Record<string, boolean>;
}

const stamp = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

export const runbooks = {
  healthCheck: {
    kind: 'healthCheck',
    schema: healthCheckInput,
    workflowId: (input, now) => `health-${input.app}-${stamp(now)}`,
    summary: (input) => `Health check of ${input.app}${input.environment ? ` (${input.environment})` : ''}`,
    succeeded: (result) =>
      (result as HealthReport | { dryRun: true }) && (result as HealthReport).verdict !== 'unhealthy',
  } satisfies RunbookEntry<typeof healthCheckInput>,
  canaryPromotion: {
    kind: 'canary',
    schema: canaryInput,
    workflowId: (input) => canaryWorkflowId(input.app, input.image),
    summary: (input) =>
      `Canary ${input.image} → ${input.app}${input.environment ? ` (${input.environment})` : ''}`,
    succeeded: (result) =>
      ['promoted', 'unchanged', 'planned'].includes((result as { outcome?: string })?.outcome ?? ''),
    finalOutcomes: { promoted: true, 'rolled-back': false, aborted: false },
  } satisfies RunbookEntry<typeof canaryInput>,
  // DR runbooks (障害復旧手順). Kinds equal the workflow types, so `runbook list --kind drDrill` works.
  pointInTimeRestore: {
    kind: 'pointInTimeRestore',
    schema: pointInTimeRestoreInput,
    // "latest" means "now", so each such request is its own restore; an explicit time is one change.
    workflowId: (input, now) =>
      restoreWorkflowId(
        input.sourceServer,
        input.restoreTo === 'latest' ? `latest-${stamp(now)}` : input.restoreTo,
      ),
    summary: (input) =>
      `Point-in-time restore of ${input.sourceServer} to ${input.restoreTo}${input.apps.length ? ` → ${input.apps.map((a) => a.app).join(', ')}` : ''}`,
    succeeded: (result) => ['restored', 'planned'].includes((result as RestoreResult)?.outcome ?? ''),
  } satisfies RunbookEntry<typeof pointInTimeRestoreInput>,
  drDrill: {
    kind: 'drDrill',
    schema: drDrillInput,
    workflowId: (input, now) => `drill-${input.sourceServer}-${stamp(now)}`,
    summary: (input) =>
      `DR drill of ${input.sourceServer} (restore ${input.restoreTo} into a scratch server)`,
    succeeded: (result) => ['passed', 'planned'].includes((result as DrillResult)?.outcome ?? ''),
  } satisfies RunbookEntry<typeof drDrillInput>,
  fullOutageRecovery: {
    kind: 'fullOutageRecovery',
    schema: fullOutageRecoveryInput,
    workflowId: (input, now) => `outage-${input.app}-${stamp(now)}`,
    summary: (input) => `Full outage recovery of ${input.app}`,
    succeeded: (result) =>
      ['healthy', 'recovered', 'planned'].includes((result as FullOutageResult)?.outcome ?? ''),
  } satisfies RunbookEntry<typeof fullOutageRecoveryInput>,
} as const;

export type RunbookType = keyof typeof runbooks;

export function runbookEntry(type: string): RunbookEntry | undefined {
  return (runbooks as Record<string, RunbookEntry>)[type];
}
