import { parseDuration } from '../src/domain/duration';
import {
  benchSandbox,
  canaryOutcome,
  flag,
  machine,
  median,
  mutationCount,
  mutationsSince,
  numberFlag,
  run,
  runbook,
  seconds,
  table,
  trafficChanges,
  writeResult,
} from './lib';

// "Fault → 100% stable": a -faulty image (20% 5xx in the sandbox) goes out as a canary; we time,
// from the emulator's mutation log, the PATCH that gives it traffic to the PATCH that puts 100%
// back on stable. Target: ≤ interval × failureLimit + 5 s. Then N healthy releases in a row,
// none of which may be rolled back. Everything goes through the CLI, as CI runs it.
//
//   npm run bench:canary-rollback -- [--runs 5] [--healthy 20] [--interval 5s] [--failure-limit 2]
//                                    [--provider probe|prometheus]

const app = 'fluentedge-backend';
const registry = 'fluentedgeacr.azurecr.io/fluentedge-backend';

interface FaultRun {
  run: number;
  image: string;
  canary: string;
  stable: string;
  exitCode: number;
  outcome: string;
  faultToStableS: number;
  analyses: number;
  verdicts: string[];
  cliWallS: number;
}

interface HealthyRun {
  run: number;
  image: string;
  exitCode: number;
  outcome: string;
  analyses: number;
  failedAnalyses: number;
  cliWallS: number;
}

run(async (cleanup) => {
  const runs = numberFlag('runs', 5);
  const healthy = numberFlag('healthy', 20);
  const intervalText = flag('interval', '5s');
  const interval = parseDuration(intervalText);
  if (interval === undefined) throw new Error(`--interval: not a duration: ${intervalText}`);
  const failureLimit = numberFlag('failure-limit', 2);
  const provider = flag('provider', 'probe');
  if (provider !== 'probe' && provider !== 'prometheus') throw new Error('--provider: probe or prometheus');
  const targetS = (interval * failureLimit) / 1000 + 5;

  const started = Date.now();
  // The prometheus provider reads what the ingress saw, so it needs traffic through it.
  const loadRps = provider === 'prometheus' ? 30 : 0;
  const sandbox = await benchSandbox({ loadRps });
  cleanup(() => sandbox.dispose());
  const prometheusUrl = sandbox.endpoints.prometheusUrl as string | undefined;
  if (provider === 'prometheus' && !prometheusUrl) throw new Error('no prometheus on PATH (PROMETHEUS_PATH)');
  const analysisBase = {
    provider,
    ...(provider === 'prometheus' ? { prometheusUrl, minSamples: 5 } : {}),
  };
  process.stderr.write(`sandbox up in ${seconds(Date.now() - started)} s; provider ${provider}\n`);

  const start = async (input: Record<string, unknown>) => {
    const cli = await runbook(
      ['start', 'canaryPromotion', '--input', JSON.stringify(input), '--wait', '--json'],
      sandbox.env,
    );
    return { cli, result: canaryOutcome(cli.stdout) ?? {} };
  };

  const faults: FaultRun[] = [];
  for (let i = 1; i <= runs; i++) {
    const image = `${registry}:3.0.${i}-faulty`;
    const before = await mutationCount(sandbox);
    const { cli, result } = await start({
      app,
      image,
      steps: [{ setWeight: 50, bake: '5m' }, { setWeight: 100 }],
      analysis: { ...analysisBase, interval: intervalText, failureLimit },
      scaleDownDelay: '1s',
      rollbackWindow: '1s',
    });
    const canary = result.canary ?? '?';
    const stable = result.stable ?? '?';
    const changes = trafficChanges(await mutationsSince(sandbox, before));
    const on = changes.find((c) => (c.weights[canary] ?? 0) > 0);
    const back = on && changes.find((c) => c.at >= on.at && c.weights[stable] === 100);
    if (!on || !back) {
      throw new Error(
        `run ${i}: no fault→stable pair in the mutation log (exit ${cli.code})\n${cli.stdout}\n${cli.stderr}`,
      );
    }
    const r: FaultRun = {
      run: i,
      image,
      canary,
      stable,
      exitCode: cli.code,
      outcome: result.outcome ?? 'failed',
      faultToStableS: (back.at - on.at) / 1000,
      analyses: result.analysis?.length ?? 0,
      verdicts: (result.analysis ?? []).map((a) => a.verdict),
      cliWallS: cli.ms / 1000,
    };
    faults.push(r);
    process.stderr.write(
      `fault run ${i}/${runs}: ${r.outcome}, exit ${r.exitCode}, fault→stable ${r.faultToStableS.toFixed(2)} s (${r.verdicts.join(',')})\n`,
    );
  }

  const healthyRuns: HealthyRun[] = [];
  for (let i = 1; i <= healthy; i++) {
    const image = `${registry}:4.0.${i}`;
    const { cli, result } = await start({
      app,
      image,
      steps: [{ setWeight: 10, bake: '4s' }, { setWeight: 50, bake: '4s' }, { setWeight: 100 }],
      analysis: { ...analysisBase, interval: '2s', failureLimit },
      scaleDownDelay: '1s',
      rollbackWindow: '1s',
    });
    const r: HealthyRun = {
      run: i,
      image,
      exitCode: cli.code,
      outcome: result.outcome ?? 'failed',
      analyses: result.analysis?.length ?? 0,
      failedAnalyses: (result.analysis ?? []).filter((a) => a.verdict === 'fail').length,
      cliWallS: cli.ms / 1000,
    };
    healthyRuns.push(r);
    process.stderr.write(
      `healthy run ${i}/${healthy}: ${r.outcome}, exit ${r.exitCode}, ${r.analyses} analyses\n`,
    );
    if (r.outcome !== 'promoted') process.stderr.write(`${cli.stdout}\n${cli.stderr}\n`);
  }

  const times = faults.map((f) => f.faultToStableS);
  const rolledBack = faults.filter((f) => f.outcome === 'rolled-back' && f.exitCode === 1).length;
  const promoted = healthyRuns.filter((h) => h.outcome === 'promoted' && h.exitCode === 0).length;
  const falseRollbacks = healthyRuns.filter((h) => h.outcome === 'rolled-back').length;
  const summary = {
    provider,
    interval: intervalText,
    failureLimit,
    targetS,
    faultRuns: runs,
    rolledBack,
    faultToStableMedianS: median(times),
    faultToStableMaxS: times.length ? Math.max(...times) : Number.NaN,
    faultToStableMinS: times.length ? Math.min(...times) : Number.NaN,
    withinTarget: times.filter((t) => t <= targetS).length,
    healthyRuns: healthy,
    promoted,
    falseRollbacks,
    healthyAnalyses: healthyRuns.reduce((a, h) => a + h.analyses, 0),
    healthyFailedAnalyses: healthyRuns.reduce((a, h) => a + h.failedAnalyses, 0),
    healthyMedianWallS: median(healthyRuns.map((h) => h.cliWallS)),
  };

  const out = [
    '',
    `Fault → 100% stable (provider ${provider}, interval ${intervalText}, failureLimit ${failureLimit}, target ≤ ${targetS} s)`,
    '',
    table(
      ['run', 'outcome', 'exit', 'fault → stable (s)', 'analyses', 'CLI wall (s)'],
      faults.map((f) => [
        f.run,
        f.outcome,
        f.exitCode,
        f.faultToStableS.toFixed(2),
        f.verdicts.join(' '),
        f.cliWallS.toFixed(1),
      ]),
    ),
    '',
    table(
      ['metric', 'value'],
      [
        ['fault → stable, median (s)', summary.faultToStableMedianS.toFixed(2)],
        [
          'fault → stable, min / max (s)',
          `${summary.faultToStableMinS.toFixed(2)} / ${summary.faultToStableMaxS.toFixed(2)}`,
        ],
        ['runs within target', `${summary.withinTarget}/${runs}`],
        ['faulty runs rolled back (exit 1)', `${rolledBack}/${runs}`],
        ['healthy runs promoted (exit 0)', `${promoted}/${healthy}`],
        ['false rollbacks', falseRollbacks],
        [
          'analyses in healthy runs (failed)',
          `${summary.healthyAnalyses} (${summary.healthyFailedAnalyses})`,
        ],
        ['healthy run CLI wall, median (s)', summary.healthyMedianWallS.toFixed(1)],
      ],
    ),
    '',
  ].join('\n');
  process.stdout.write(out);
  const file = writeResult(`canary-rollback-${provider}`, {
    bench: 'canary-rollback',
    command: `npm run bench:canary-rollback -- ${process.argv.slice(2).join(' ')}`.trim(),
    at: new Date().toISOString(),
    machine: machine(),
    summary,
    faults,
    healthy: healthyRuns,
  });
  process.stdout.write(`results: ${file}\n`);
  return rolledBack === runs && falseRollbacks === 0 && promoted === healthy ? 0 : 1;
});
