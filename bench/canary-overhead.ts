import { createActivities } from '../src/activities';
import { createAzureClients } from '../src/activities/azure';
import { canaryWorkflowId, revisionSuffix, type Weights } from '../src/domain/canary';
import { RunbookEnvironment, RunbookKind, RunbookTarget } from '../src/domain/searchAttributes';
import { connectClient } from '../src/starters/client';
import {
  benchSandbox,
  machine,
  median,
  mutationCount,
  mutationsSince,
  numberFlag,
  run,
  seconds,
  table,
  writeResult,
} from './lib';

// Orchestration overhead: a zero-bake canary (10% → 50% → 100%, no analysis, no delays) through
// Temporal — client start, worker, durable history, lock workflow, every activity a task — against
// a bare script calling the same activity functions (createActivities with the same sandbox
// config) in the same order in one process. Both make the same ARM calls to the same emulator;
// runs alternate so neither profits from a warmer sandbox. Target: Temporal ≤ 1.2× bare.
//
//   npm run bench:canary-overhead -- [--runs 7] [--warmup 1]

const app = 'fluentedge-backend';
const registry = 'fluentedgeacr.azurecr.io/fluentedge-backend';
const steps = [10, 50, 100];

interface Sample {
  mode: 'temporal' | 'bare';
  run: number;
  image: string;
  wallMs: number;
  mutations: number;
  outcome: string;
  warmup: boolean;
  /** Temporal only, from the workflow history: time inside activities and inside fired timers. */
  activityMs?: number;
  timerMs?: number;
}

type HistoryEvent = {
  eventId?: unknown;
  eventTime?: { seconds?: unknown; nanos?: number | null } | null;
} & Record<string, unknown>;

const eventMs = (e: HistoryEvent) =>
  Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6);

/** Where a workflow's wall time went: activities (scheduled → completed) and timers (started → fired). */
function breakdown(events: HistoryEvent[]): { activityMs: number; timerMs: number } {
  const byId = new Map(events.map((e) => [String(e.eventId), e]));
  let activityMs = 0;
  let timerMs = 0;
  for (const e of events) {
    const done = e.activityTaskCompletedEventAttributes as { scheduledEventId?: unknown } | undefined;
    if (done) {
      const scheduled = byId.get(String(done.scheduledEventId));
      if (scheduled) activityMs += eventMs(e) - eventMs(scheduled);
    }
    const fired = e.timerFiredEventAttributes as { startedEventId?: unknown } | undefined;
    if (fired) {
      const started = byId.get(String(fired.startedEventId));
      if (started) timerMs += eventMs(e) - eventMs(started);
    }
  }
  return { activityMs, timerMs };
}

function weightsFor(canary: string, stable: string, w: number): Weights {
  return w >= 100 ? { [canary]: 100 } : { [canary]: w, [stable]: 100 - w };
}

run(async (cleanup) => {
  const runs = numberFlag('runs', 7);
  const warmup = numberFlag('warmup', 1);
  const started = Date.now();
  const sandbox = await benchSandbox();
  cleanup(() => sandbox.dispose());
  const client = await connectClient(sandbox.config);
  cleanup(() => client.connection.close());
  const activities = createActivities({
    config: sandbox.config,
    azure: createAzureClients(sandbox.config),
    temporal: client,
  });
  const ref = { resourceGroup: sandbox.endpoints.resourceGroup, app };
  process.stderr.write(`sandbox up in ${seconds(Date.now() - started)} s\n`);

  async function viaTemporal(
    image: string,
  ): Promise<{ outcome: string; activityMs: number; timerMs: number }> {
    const input = {
      app,
      image,
      steps: steps.map((setWeight) => ({ setWeight })),
      scaleDownDelay: '0s',
      rollbackWindow: '0s',
    };
    const handle = await client.workflow.start('canaryPromotion', {
      taskQueue: sandbox.config.temporal.taskQueue,
      workflowId: canaryWorkflowId(app, image),
      args: [input],
      typedSearchAttributes: [
        { key: RunbookKind, value: 'canary' },
        { key: RunbookTarget, value: app },
        { key: RunbookEnvironment, value: sandbox.config.environment },
      ],
    });
    const result = (await handle.result()) as { outcome: string };
    const history = await handle.fetchHistory();
    return { outcome: result.outcome, ...breakdown((history.events ?? []) as HistoryEvent[]) };
  }

  /** The workflow's activity sequence for this plan, minus Temporal: same calls, same order. */
  async function bare(image: string, id: string): Promise<string> {
    await activities.runbookSettings();
    const view = await activities.readApp(ref);
    const stable = view.revisions.find((r) => r.active && r.trafficWeight === 100);
    if (!stable) throw new Error(`no revision of ${app} at 100%`);
    const suffix = revisionSuffix(app, image, id);
    const canary = `${app}--${suffix}`;
    await activities.prepareMultipleMode({ ...ref, weights: { [stable.name]: 100 } });
    await activities.deployRevision({ ...ref, image, suffix });
    const ready = await activities.waitRevisionReady({ ...ref, revision: canary });
    if (ready.url) await activities.probeHealth({ url: ready.url });
    for (const w of steps)
      await activities.setTraffic({ ...ref, weights: weightsFor(canary, stable.name, w) });
    await activities.deactivateRevision({ ...ref, revision: stable.name });
    return 'promoted';
  }

  const samples: Sample[] = [];
  for (let i = 1; i <= warmup + runs; i++) {
    for (const mode of ['temporal', 'bare'] as const) {
      const image = `${registry}:${mode === 'temporal' ? 7 : 8}.0.${i}`;
      const before = await mutationCount(sandbox);
      const t0 = performance.now();
      const r =
        mode === 'temporal' ? await viaTemporal(image) : { outcome: await bare(image, `bench-bare-${i}`) };
      const wallMs = performance.now() - t0;
      const mutations = (await mutationsSince(sandbox, before)).length;
      const s: Sample = { mode, run: i, image, wallMs, mutations, warmup: i <= warmup, ...r };
      const { outcome } = r;
      samples.push(s);
      process.stderr.write(
        `${s.warmup ? 'warm-up' : `run ${i - warmup}/${runs}`} ${mode}: ${seconds(wallMs)} s, ${mutations} mutations, ${outcome}\n`,
      );
      if (outcome !== 'promoted') throw new Error(`${mode} run ${i}: ${outcome}`);
    }
  }

  const measured = samples.filter((s) => !s.warmup);
  const of = (mode: Sample['mode']) => measured.filter((s) => s.mode === mode);
  const temporalMs = median(of('temporal').map((s) => s.wallMs));
  const bareMs = median(of('bare').map((s) => s.wallMs));
  const ratio = temporalMs / bareMs;
  const timerMs = median(of('temporal').map((s) => s.timerMs ?? 0));
  const activityMs = median(of('temporal').map((s) => s.activityMs ?? 0));
  const summary = {
    runs,
    warmup,
    temporalMedianS: temporalMs / 1000,
    bareMedianS: bareMs / 1000,
    overheadS: (temporalMs - bareMs) / 1000,
    ratio,
    temporalActivityMedianS: activityMs / 1000,
    temporalTimerMedianS: timerMs / 1000,
    target: 1.2,
    withinTarget: ratio <= 1.2,
    armMutationsPerRun: {
      temporal: median(of('temporal').map((s) => s.mutations)),
      bare: median(of('bare').map((s) => s.mutations)),
    },
  };

  const out = [
    '',
    `Orchestration overhead: zero-bake canary 10/50/100, median of ${runs} (after ${warmup} warm-up)`,
    '',
    table(
      [
        'run',
        'Temporal (s)',
        'in activities (s)',
        'in timers (s)',
        'bare script (s)',
        'ARM mutations T / bare',
      ],
      Array.from({ length: runs }, (_, k) => {
        const t = of('temporal')[k]!;
        const b = of('bare')[k]!;
        return [
          k + 1,
          seconds(t.wallMs),
          seconds(t.activityMs ?? 0),
          seconds(t.timerMs ?? 0),
          seconds(b.wallMs),
          `${t.mutations} / ${b.mutations}`,
        ];
      }),
    ),
    '',
    table(
      ['metric', 'value'],
      [
        ['Temporal, median (s)', seconds(temporalMs)],
        ['bare script, median (s)', seconds(bareMs)],
        ['overhead (s)', seconds(temporalMs - bareMs)],
        ['  of which Temporal timers, median (s)', seconds(timerMs)],
        ['ratio (target ≤ 1.2×)', `${ratio.toFixed(3)}×`],
      ],
    ),
    '',
  ].join('\n');
  process.stdout.write(out);
  const file = writeResult('canary-overhead', {
    bench: 'canary-overhead',
    command: `npm run bench:canary-overhead -- ${process.argv.slice(2).join(' ')}`.trim(),
    at: new Date().toISOString(),
    machine: machine(),
    summary,
    samples,
  });
  process.stdout.write(`results: ${file}\n`);
  return 0;
});
