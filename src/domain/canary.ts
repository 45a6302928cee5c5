import { z } from 'zod';
import { duration } from './duration';
import type { AnalysisRun } from './analysis';
import { appName, environmentName, resourceGroupName } from './input';

// カナリアデプロイ as data: a list of steps (Argo Rollouts' model) interpreted by one loop in the
// workflow. Everything that can be wrong with a plan is caught here, before any mutation.

export const imageRef = z
  .string({ message: 'expected an image reference like registry/name:tag' })
  .regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*:[\w][\w.-]{0,127}$/, {
    message: 'expected an image reference with a tag, like registry.azurecr.io/fluentedge-backend:2.0.0',
  });

export const stepSchema = z
  .strictObject({
    /** Canary weight for this step; stable gets 100 - w. */
    setWeight: z
      .number({ message: 'expected a number' })
      .int({ message: 'expected an integer' })
      .min(1)
      .max(100)
      .optional(),
    /** Stay at this weight this long, analysing every `analysis.interval`. */
    bake: duration({ max: '7d' }).optional(),
    /** Wait for `resume` (true) or at most this long. */
    pause: z.union([z.literal(true), duration({ max: '7d' })]).optional(),
    /** Stop at an approval gate after the bake. */
    approval: z.boolean().optional(),
    /** Analyse during this step's bake (default true when a bake is set). */
    analysis: z.boolean().optional(),
  })
  .refine((s) => Object.keys(s).length > 0, {
    message: 'a step needs at least one of setWeight, bake, pause, approval',
  });
export type Step = z.output<typeof stepSchema>;

export const defaultSteps = [
  { setWeight: 10, bake: '10m' },
  { setWeight: 50, bake: '10m', approval: true },
  { setWeight: 100 },
] as const;

const threshold = z.strictObject({
  /** 5xx share of requests, 0..1. The manual: < 1%. */
  maxErrorRate: z.number().min(0).max(1).default(0.01),
  /** The manual: P95 < 3000 ms. */
  maxP95Ms: z.number().int().min(1).default(3000),
});

export const analysisSchema = z.strictObject({
  provider: z.enum(['probe', 'prometheus'], { message: 'expected probe or prometheus' }).default('probe'),
  interval: duration({ min: '1s', max: '1h' }).default(30_000),
  /** Below this many requests in a window the check is inconclusive (then `noData` decides). */
  minSamples: z.number().int().min(1).max(100_000).default(20),
  noData: z.enum(['fail', 'hold', 'pass'], { message: 'expected fail, hold or pass' }).default('hold'),
  failureLimit: z.number().int().min(1).max(100).default(2),
  inconclusiveLimit: z.number().int().min(1).max(100).default(3),
  thresholds: threshold.default({ maxErrorRate: 0.01, maxP95Ms: 3000 }),
  /** Compare canary with stable instead of fixed thresholds: canary may be this much worse. */
  compareToStable: z
    .strictObject({
      maxErrorRateDelta: z.number().min(0).max(1).default(0.01),
      maxP95Ratio: z.number().min(1).max(100).default(1.5),
    })
    .optional(),
  /** Requests per probe window (probe provider). */
  probeRequests: z.number().int().min(1).max(1000).default(20),
  prometheusUrl: z.url({ message: 'expected an http(s) URL' }).optional(),
});
export type AnalysisConfig = z.output<typeof analysisSchema>;

export const approvalPolicySchema = z.strictObject({
  /** Who may decide; empty = anyone except the initiator. */
  allow: z.array(z.string().min(1)).max(100).default([]),
  quorum: z.number().int().min(1).max(10).default(1),
  allowSelfApproval: z.boolean().default(false),
  expiry: duration({ min: '1s', max: '7d' }).default(3_600_000),
  onExpiry: z.enum(['rollback', 'hold'], { message: 'expected rollback or hold' }).default('rollback'),
});
export type ApprovalPolicy = z.output<typeof approvalPolicySchema>;

export const canaryInput = z
  .strictObject({
    app: appName,
    image: imageRef,
    resourceGroup: resourceGroupName.optional(),
    environment: environmentName.optional(),
    steps: z.array(stepSchema).min(1).max(20).optional(),
    analysis: analysisSchema.default(analysisSchema.parse({})),
    approvals: approvalPolicySchema.default(approvalPolicySchema.parse({})),
    scaleDownDelay: duration({ max: '1d' }).default(60_000),
    rollbackWindow: duration({ max: '7d' }).default(3_600_000),
    /** Who started it (CI job, user); the approval policy refuses self-approval by them. */
    initiator: z.string().min(1).max(200).optional(),
    /** Second run of the same app waits for the lock (default) or fails at once. */
    lock: z.enum(['wait', 'fail'], { message: 'expected wait or fail' }).default('wait'),
    dryRun: z.boolean().optional(),
  })
  .superRefine((input, ctx) => {
    const steps = input.steps ?? stepSchema.array().parse(defaultSteps);
    for (const problem of planProblems(steps))
      ctx.addIssue({ code: 'custom', path: ['steps', ...problem.path], message: problem.message });
  });
export type CanaryInput = z.input<typeof canaryInput>;
export type CanaryConfig = z.output<typeof canaryInput>;

export function stepsOf(config: CanaryConfig): Step[] {
  return config.steps ?? stepSchema.array().parse(defaultSteps);
}

/** Weights must rise strictly and end at 100, so traffic only ever moves toward the canary. */
export function planProblems(steps: Step[]): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  let last = 0;
  steps.forEach((step, i) => {
    if (step.setWeight === undefined) return;
    if (step.setWeight <= last) {
      problems.push({
        path: [i, 'setWeight'],
        message: `weights must increase: ${step.setWeight} after ${last}`,
      });
    }
    last = Math.max(last, step.setWeight);
  });
  const final = steps.at(-1);
  if (final && final.setWeight !== 100) {
    problems.push({ path: [steps.length - 1, 'setWeight'], message: 'the last step must set weight 100' });
  }
  return problems;
}

/** `registry/name:2.0.0` → `2.0.0`. */
export function imageTag(image: string): string {
  return image.slice(image.lastIndexOf(':') + 1);
}

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36).padStart(7, '0').slice(-5);
}

/**
 * Revision suffix derived from the image tag and the workflow, so a retried deploy finds the
 * revision it already created: Azure wants lowercase letters, digits and '-', starting with a
 * letter, and `<app>--<suffix>` within 54 characters.
 */
export function revisionSuffix(app: string, image: string, workflowId: string): string {
  let tag = imageTag(image)
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  if (!/^[a-z]/.test(tag)) tag = `v${tag}`;
  const hash = fnv1a(workflowId);
  const room = Math.max(1, 54 - app.length - 2 - hash.length - 1);
  return `${tag.slice(0, room).replace(/-$/, '')}-${hash}`;
}

/** `canary-<app>-<image-tag>`, sanitised for a workflow id. */
export function canaryWorkflowId(app: string, image: string): string {
  return `canary-${app}-${imageTag(image).replace(/[^\w.-]/g, '-')}`;
}

/** Traffic by revision name. */
export type Weights = Record<string, number>;

export type CanaryOutcome = 'promoted' | 'rolled-back' | 'aborted' | 'unchanged' | 'planned';

export interface CanaryResult {
  outcome: CanaryOutcome;
  app: string;
  image: string;
  stable?: string;
  canary?: string;
  reason: string;
  rolledBackAfterPromotion?: boolean;
  analysis: AnalysisRun[];
  plan?: { step: number; weights: Weights; bake?: string; approval?: boolean }[];
}
