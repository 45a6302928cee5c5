import {
  ApplicationFailure,
  condition,
  defineSignal,
  defineUpdate,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { z } from 'zod';
import type { Activities } from '../activities';
import { type AnalysisRun, judgeWindow, nextAction, type Sample } from '../domain/analysis';
import {
  applyDecision,
  type Decision,
  type DecisionResult,
  decide,
  decisionSchema,
  type GateState,
} from '../domain/approval';
import {
  type CanaryConfig,
  type CanaryInput,
  type CanaryOutcome,
  type CanaryResult,
  canaryInput,
  revisionSuffix,
  type Step,
  stepsOf,
  type Weights,
} from '../domain/canary';
import { formatDuration } from '../domain/duration';
import { judgeProbe } from '../domain/healthCheck';
import { fieldProblems } from '../domain/input';
import { validateInput } from './lib/input';
import { withLock } from './lib/lock';
import { Progress } from './lib/progress';

// ローリングアップデート / カナリアデプロイ: deploy the new image as its own revision, check its
// health, shift traffic step by step (10% → 50% → 100% by default) with analysis between, stop at
// approval gates, and go back to the stable revision at once when anything is wrong.

const { runbookSettings } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s' });
const arm = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});
const waits = proxyActivities<Activities>({
  startToCloseTimeout: '15m',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '2s', maximumAttempts: 5 },
});
const probes = proxyActivities<Activities>({ startToCloseTimeout: '2m', retry: { maximumAttempts: 3 } });

export const pauseSignal = defineSignal<[unknown?]>('pause');
export const resumeSignal = defineSignal<[unknown?]>('resume');
export const abortSignal = defineSignal<[unknown?]>('abort');
export const promoteSignal = defineSignal<[unknown?]>('promote');
export const rollbackSignal = defineSignal<[unknown?]>('rollback');
export const approveSignal = defineSignal<[unknown]>('approve');
export const rejectSignal = defineSignal<[unknown]>('reject');
export const decideUpdate = defineUpdate<DecisionResult, [unknown]>('decide');

const reasonPayload = z
  .strictObject({ by: z.string().min(1).max(200).optional(), reason: z.string().max(2000).optional() })
  .optional();
const promotePayload = z
  .strictObject({ by: z.string().min(1).max(200).optional(), full: z.boolean().optional() })
  .optional();
const gatePayload = decisionSchema.omit({ decision: true });

export async function canaryPromotion(raw: CanaryInput): Promise<CanaryResult> {
  const input: CanaryConfig = validateInput(canaryInput, raw);
  const settings = await runbookSettings();
  const resourceGroup = input.resourceGroup ?? settings.resourceGroup;
  const environment = input.environment ?? settings.environment;
  const ref = { resourceGroup, app: input.app };
  const steps = stepsOf(input);
  const dryRun = input.dryRun ?? false;
  // The input's Prometheus wins; else the worker's (the sandbox configures its own).
  const prometheusUrl = input.analysis.prometheusUrl ?? settings.prometheusUrl;
  if (input.analysis.provider === 'prometheus' && !prometheusUrl) {
    throw ApplicationFailure.nonRetryable(
      'invalid input: analysis.prometheusUrl: required for provider prometheus (the worker has no PROMETHEUS_URL)',
      'InvalidInput',
    );
  }
  const progress = new Progress(settings.lang, {
    kind: 'canary',
    target: input.app,
    environment,
    dryRun,
    steps: 5,
    summary: '',
  });
  progress.status.summary = progress.msg('canary.summary', {
    app: input.app,
    image: input.image,
    environment,
  });

  // Operator controls. Every payload is checked; a malformed one is recorded and ignored.
  const ctl = {
    paused: false,
    abort: undefined as { by: string; reason: string } | undefined,
    promote: undefined as { by: string; full: boolean } | undefined,
    rollback: undefined as { by: string; reason: string } | undefined,
    rollbackOpen: false,
    gate: undefined as GateState | undefined,
  };
  const analysis: AnalysisRun[] = [];
  // Runs since the last human decision: a hold that a person cleared starts a new streak.
  let streak: AnalysisRun[] = [];
  const details: Record<string, unknown> = { image: input.image, weights: {}, analysis };
  progress.status.details = details;

  const parse = <S extends z.ZodType>(
    signal: string,
    schema: S,
    payload: unknown,
  ): z.output<S> | undefined => {
    const parsed = schema.safeParse(payload);
    if (parsed.success) return parsed.data;
    progress.log({
      event: 'refused',
      step: signal,
      detail: `malformed payload: ${fieldProblems(parsed.error).join('; ')}`,
    });
    return undefined;
  };
  setHandler(
    pauseSignal,
    (p) => {
      const v = parse('pause', reasonPayload, p);
      if (v === undefined && p !== undefined) return;
      ctl.paused = true;
      progress.log({
        event: 'paused',
        ...(v?.by ? { by: v.by } : {}),
        ...(v?.reason ? { detail: v.reason } : {}),
      });
    },
    { description: 'Hold at the current weight (timers stop) until resume. Payload: {by?, reason?}' },
  );
  setHandler(
    resumeSignal,
    (p) => {
      const v = parse('resume', reasonPayload, p);
      if (v === undefined && p !== undefined) return;
      ctl.paused = false;
      // Resuming is how an operator clears an analysis hold; approval gates need approve.
      if (ctl.gate?.gate === 'analysis-hold' && !ctl.gate.outcome)
        ctl.gate = { ...ctl.gate, outcome: 'approved' };
      progress.log({ event: 'resumed', ...(v?.by ? { by: v.by } : {}) });
    },
    { description: 'Continue after pause or an analysis hold. Payload: {by?}' },
  );
  setHandler(
    abortSignal,
    (p) => {
      const v = parse('abort', reasonPayload, p);
      if (v === undefined && p !== undefined) return;
      ctl.abort = { by: v?.by ?? 'operator', reason: v?.reason ?? 'aborted by operator' };
      progress.log({ event: 'abort', by: ctl.abort.by, detail: ctl.abort.reason });
    },
    { description: 'Stop now: 100% back to stable, canary deactivated. Payload: {by?, reason?}' },
  );
  setHandler(
    promoteSignal,
    (p) => {
      const v = parse('promote', promotePayload, p);
      if (v === undefined && p !== undefined) return;
      ctl.promote = { by: v?.by ?? 'operator', full: v?.full ?? false };
      progress.log({
        event: 'promote',
        by: ctl.promote.by,
        detail: ctl.promote.full ? 'to 100% now' : 'skip to the next step',
      });
    },
    { description: 'Skip the rest of this step (or {full:true}: go to 100% now). Payload: {by?, full?}' },
  );
  setHandler(
    rollbackSignal,
    (p) => {
      const v = parse('rollback', reasonPayload, p);
      if (v === undefined && p !== undefined) return;
      const by = v?.by ?? 'operator';
      if (!ctl.rollbackOpen) {
        progress.log({
          event: 'refused',
          step: 'rollback',
          by,
          detail: 'rollback is only possible after promotion, within rollbackWindow',
        });
        return;
      }
      ctl.rollback = { by, reason: v?.reason ?? 'rollback requested' };
      progress.log({ event: 'rollback', by, detail: ctl.rollback.reason });
    },
    {
      description:
        'After promotion, within rollbackWindow: back to the previous revision. Payload: {by?, reason?}',
    },
  );
  const onDecision = (d: Decision): DecisionResult => {
    const result = decide(input.approvals, ctl.gate, d, input.initiator);
    progress.log({
      event: result.accepted ? d.decision : 'refused',
      step: d.gate,
      by: d.approver,
      detail: `${result.reason}${d.comment ? ` — "${d.comment}"` : ''}`,
    });
    if (ctl.gate && result.accepted) ctl.gate = applyDecision(ctl.gate, d, result);
    return result;
  };
  for (const [signal, decision] of [
    [approveSignal, 'approve'],
    [rejectSignal, 'reject'],
  ] as const) {
    setHandler(
      signal,
      (p) => {
        const v = parse(decision, gatePayload, p);
        if (v) onDecision({ ...v, decision });
      },
      { description: `${decision} the open gate. Payload: {gate, approver, comment?}` },
    );
  }
  setHandler(decideUpdate, (p) => onDecision(decisionSchema.parse(p)), {
    validator: (p) => {
      const parsed = decisionSchema.safeParse(p);
      if (!parsed.success) throw new Error(`invalid decision: ${fieldProblems(parsed.error).join('; ')}`);
    },
    description:
      'Approve or reject the open gate with an immediate answer. Payload: {gate, approver, decision, comment?}',
  });

  const setWeights = (weights: Weights) => {
    details.weights = weights;
    progress.log({
      event: 'traffic',
      detail: Object.entries(weights)
        .map(([r, w]) => `${r}=${w}%`)
        .join(', '),
    });
  };
  const result = (
    outcome: CanaryOutcome,
    reason: string,
    extra: Partial<CanaryResult> = {},
  ): CanaryResult => ({
    outcome,
    app: input.app,
    image: input.image,
    reason,
    analysis,
    ...(details.stable ? { stable: details.stable as string } : {}),
    ...(details.canary ? { canary: details.canary as string } : {}),
    ...extra,
  });

  // A dry run takes no lock; a real run snapshots only once it holds the app.
  const locked = <T>(fn: () => Promise<T>): Promise<T> =>
    dryRun
      ? fn()
      : withLock(
          `containerapp-${resourceGroup}-${input.app}`,
          input.lock,
          (resource) =>
            progress.log({ event: 'waiting', detail: progress.msg('lock.waiting', { resource }) }),
          fn,
        );

  return locked(async () => {
    // 1. Snapshot the app: stable revision, its traffic, revision mode.
    progress.step(1, 'canary.step.snapshot');
    const app = await arm.readApp(ref);
    const serving = app.revisions.filter((r) => r.active && r.trafficWeight > 0);
    if (serving.length !== 1 || serving[0]!.trafficWeight !== 100) {
      throw ApplicationFailure.nonRetryable(
        `${input.app} traffic is split (${serving.map((r) => `${r.name}=${r.trafficWeight}%`).join(', ')}); finish or roll back that rollout first`,
        'TrafficSplit',
      );
    }
    const stable = serving[0]!;
    details.stable = stable.name;
    details.previousMode = app.revisionMode;
    progress.log({
      event: 'snapshot',
      detail: `stable ${stable.name} (${stable.image}) at 100%, ${app.revisionMode} mode`,
    });
    if (stable.image === input.image) {
      progress.finish('completed', 'unchanged', `${stable.name} already runs ${input.image}`);
      return result('unchanged', `${stable.name} already runs ${input.image}`);
    }
    const suffix = revisionSuffix(input.app, input.image, workflowInfo().workflowId);
    const canary = `${input.app}--${suffix}`;
    details.canary = canary;
    const plan = steps.map((s, i) => ({
      step: i + 1,
      weights: s.setWeight === undefined ? {} : weightsFor(canary, stable.name, s.setWeight),
      ...(s.bake !== undefined ? { bake: formatDuration(s.bake) } : {}),
      ...(s.approval ? { approval: true } : {}),
    }));
    if (dryRun) {
      progress.finish('planned', 'planned', progress.msg('dryRun.plan'));
      return result('planned', `would deploy ${canary} and shift traffic in ${steps.length} steps`, { plan });
    }

    const rollback = async (
      reason: string,
      outcome: CanaryOutcome = 'rolled-back',
    ): Promise<CanaryResult> => {
      const done = await arm.restoreStable({ ...ref, stable: stable.name, canary });
      setWeights({ [stable.name]: 100 });
      progress.log({ event: 'restored', detail: done.changed.join('; ') || 'already on stable' });
      const message = progress.msg('canary.rolledBack', { stable: stable.name, reason });
      progress.finish('rolled-back', outcome, message);
      return result(outcome, reason);
    };

    await arm.prepareMultipleMode({ ...ref, weights: { [stable.name]: 100 } });

    // 2. Deploy: a retry finds the revision this workflow already created.
    progress.step(2, 'canary.step.deploy', { image: input.image });
    const deployed = await arm.deployRevision({ ...ref, image: input.image, suffix });
    progress.log({
      event: 'deploy',
      detail: `${canary} ${deployed.created ? 'created' : 'already existed'}`,
    });

    // 3. Provisioned and healthy, then its own /health.
    progress.step(3, 'canary.step.ready', { revision: canary });
    let ready: Awaited<ReturnType<typeof waits.waitRevisionReady>>;
    try {
      ready = await waits.waitRevisionReady({ ...ref, revision: canary });
    } catch (err) {
      return rollback(`${canary} never became healthy: ${(err as Error).message}`);
    }
    const probe = ready.url ? await probes.probeHealth({ url: ready.url }) : undefined;
    const health = judgeProbe(probe);
    progress.log({
      event: 'probe',
      step: canary,
      detail: `${health.verdict}${health.reasons.length ? `: ${health.reasons.join(', ')}` : ''}`,
    });
    if (health.verdict === 'unhealthy') return rollback(`${canary} /health: ${health.reasons.join(', ')}`);

    // 4. Steps: set weight, bake with analysis, pause, approval — one loop over data.
    progress.step(4, 'canary.step.traffic');
    let weight = 0;
    for (const [i, step] of steps.entries()) {
      if (ctl.abort) return rollback(ctl.abort.reason, 'aborted');
      if (ctl.promote?.full) break;
      if (step.setWeight !== undefined) {
        weight = step.setWeight;
        const weights = weightsFor(canary, stable.name, weight);
        await arm.setTraffic({ ...ref, weights });
        setWeights(weights);
        progress.status.step = { index: 4, total: 5, title: `step ${i + 1}/${steps.length}: ${weight}%` };
      }
      const outcome = await runStep(step, i, weight);
      if (outcome) return rollback(outcome.reason, outcome.kind);
    }

    // 5. Promote: 100% on the canary; the old revision stays restorable for rollbackWindow.
    progress.step(5, 'canary.step.promote', { revision: canary });
    if (weight !== 100) {
      await arm.setTraffic({ ...ref, weights: { [canary]: 100 } });
      setWeights({ [canary]: 100 });
    }
    const until = new Date(Date.now() + input.rollbackWindow).toISOString();
    progress.finish('completed', 'promoted', progress.msg('canary.promoted', { canary, until }));
    // The known-good spec is what fullOutageRecovery redeploys from if the app is ever lost.
    if (patched('record-known-good-spec')) {
      const spec = await arm.recordKnownGoodSpec(ref);
      progress.log({
        event: 'recorded',
        detail: `known-good spec of ${input.app} (${spec.image ?? 'image?'})`,
      });
    }
    ctl.rollbackOpen = true;
    let scaledDown = false;
    const windowEnd = Date.now() + input.rollbackWindow;
    // A zero wait needs no timer (a timer costs a round trip); older histories had one.
    const wait = (ms: number): Promise<boolean> =>
      ms > 0 || !patched('no-zero-timers')
        ? condition(() => !!ctl.rollback, ms)
        : Promise.resolve(!!ctl.rollback);
    if (input.scaleDownDelay < input.rollbackWindow) {
      if (!(await wait(input.scaleDownDelay))) {
        await arm.deactivateRevision({ ...ref, revision: stable.name });
        scaledDown = true;
        progress.log({
          event: 'scaled-down',
          detail: `${stable.name} deactivated (restorable until ${until})`,
        });
      }
    }
    const remaining = Math.max(0, windowEnd - Date.now());
    if (ctl.rollback || (await wait(remaining))) {
      progress.setPhase('running');
      const why = `${ctl.rollback!.reason} (by ${ctl.rollback!.by}, after promotion)`;
      const r = await rollback(why);
      return { ...r, rolledBackAfterPromotion: true };
    }
    ctl.rollbackOpen = false;
    if (!scaledDown) {
      await arm.deactivateRevision({ ...ref, revision: stable.name });
      progress.log({ event: 'scaled-down', detail: `${stable.name} deactivated` });
    }
    progress.log({ event: 'window-closed', detail: 'rollback window over' });
    return result('promoted', `${canary} serves 100%`);

    /** One step's bake, pause and gate. Returns why to roll back, or undefined to go on. */
    async function runStep(
      step: Step,
      index: number,
      at: number,
    ): Promise<{ kind: CanaryOutcome; reason: string } | undefined> {
      ctl.promote = ctl.promote?.full ? ctl.promote : undefined;
      if (step.bake !== undefined) {
        const r = await bake(step.bake, step.analysis ?? true, at);
        if (r) return r;
      }
      if (step.pause !== undefined) {
        ctl.paused = true;
        progress.log({
          event: 'paused',
          detail: step.pause === true ? 'until resume' : `for ${formatDuration(step.pause)}`,
        });
        const until = () => !ctl.paused || !!ctl.abort || !!ctl.promote;
        if (step.pause === true) await condition(until);
        else await condition(until, step.pause);
        ctl.paused = false;
        if (ctl.abort) return { kind: 'aborted', reason: ctl.abort.reason };
      }
      if (step.approval && !ctl.promote?.full) {
        const r = await gate(`step-${index + 1}`, at);
        if (r) return r;
      }
      return undefined;
    }

    /** Bake at the current weight; analysis every interval; pause stops the clock. */
    async function bake(
      ms: number,
      analyse: boolean,
      at: number,
    ): Promise<{ kind: CanaryOutcome; reason: string } | undefined> {
      let left = ms;
      while (left > 0) {
        if (ctl.abort) return { kind: 'aborted', reason: ctl.abort.reason };
        if (ctl.promote) return undefined;
        if (ctl.paused) {
          await condition(() => !ctl.paused || !!ctl.abort || !!ctl.promote);
          continue;
        }
        const slice = analyse ? Math.min(left, input.analysis.interval) : left;
        const started = Date.now();
        const interrupted = await condition(() => ctl.paused || !!ctl.abort || !!ctl.promote, slice);
        left -= Date.now() - started;
        if (interrupted) continue;
        if (!analyse) continue;
        const run = await analyseOnce();
        analysis.push(run);
        streak.push(run);
        if (analysis.length > 50) analysis.splice(0, analysis.length - 50);
        progress.log({
          event: `analysis-${run.verdict}`,
          detail: run.checks.map((c) => c.detail).join('; '),
        });
        const next = nextAction(input.analysis, streak);
        if (next.action === 'rollback')
          return {
            kind: 'rolled-back',
            reason: `analysis: ${next.reason}; ${run.checks.map((c) => c.detail).join('; ')}`,
          };
        if (next.action === 'hold') {
          const r = await gate('analysis-hold', at, true);
          if (r) return r;
          streak = [];
        }
      }
      return undefined;
    }

    async function analyseOnce(): Promise<AnalysisRun> {
      const a = input.analysis;
      const window = `${Math.max(1, Math.round(a.interval / 1000))}s`;
      const measure = (revision: string, url: string | undefined): Promise<Sample> =>
        a.provider === 'prometheus'
          ? probes.prometheusWindow({ url: prometheusUrl!, app: input.app, revision, window })
          : probes.probeWindow({
              url: url ?? '',
              paths: ['/api/v1/conversations', '/api/v1/reviews/due'],
              requests: a.probeRequests,
            });
      const [c, s] = await Promise.all([
        measure(canary, ready.url),
        a.compareToStable ? measure(stable.name, stable.url) : Promise.resolve(undefined),
      ]);
      return judgeWindow(a, c, s, new Date().toISOString());
    }

    /** Approval gate (or an analysis hold): wait for a decision or the expiry's safe default. */
    async function gate(
      name: string,
      at: number,
      hold = false,
    ): Promise<{ kind: CanaryOutcome; reason: string } | undefined> {
      ctl.gate = { gate: name, openedAt: Date.now(), approvals: [] };
      ctl.paused = false;
      const prompt = progress.msg(hold ? 'canary.hold.prompt' : 'canary.gate.prompt', {
        canary,
        weight: at,
      });
      const expires = hold ? undefined : new Date(Date.now() + input.approvals.expiry).toISOString();
      progress.status.pendingGate = {
        gate: name,
        prompt,
        since: new Date().toISOString(),
        ...(expires ? { expiresAt: expires } : {}),
      };
      progress.setPhase('waiting');
      const decided = () => !!ctl.gate?.outcome || !!ctl.abort || !!ctl.promote;
      let inTime = true;
      if (hold) await condition(decided);
      else inTime = await condition(decided, input.approvals.expiry);
      const g = ctl.gate;
      ctl.gate = undefined;
      delete progress.status.pendingGate;
      progress.setPhase('running');
      if (ctl.abort) return { kind: 'aborted', reason: ctl.abort.reason };
      if (g.outcome === 'rejected') return { kind: 'rolled-back', reason: `gate ${name} rejected` };
      if (g.outcome === 'approved' || ctl.promote) return undefined;
      if (!inTime) {
        progress.log({
          event: 'expired',
          step: name,
          detail: `no decision within ${formatDuration(input.approvals.expiry)}; onExpiry=${input.approvals.onExpiry}`,
        });
        if (input.approvals.onExpiry === 'rollback')
          return { kind: 'rolled-back', reason: `gate ${name} expired` };
        return gate(name, at, true);
      }
      return undefined;
    }
  });
}

function weightsFor(canary: string, stable: string, weight: number): Weights {
  return weight >= 100 ? { [canary]: 100 } : { [canary]: weight, [stable]: 100 - weight };
}
