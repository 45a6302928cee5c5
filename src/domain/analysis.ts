import type { AnalysisConfig } from './canary';

// Canary analysis verdicts: pure functions over measured windows, so every rollback can be
// explained with the numbers that caused it (they go into the status).

export type CheckVerdict = 'pass' | 'fail' | 'inconclusive';

/** What one provider measured for one revision over one window. */
export interface Sample {
  requests: number;
  errors: number;
  /** p95 latency in ms; undefined when there were no requests. */
  p95Ms?: number;
}

export interface CheckResult {
  check: 'errorRate' | 'p95';
  verdict: CheckVerdict;
  value?: number;
  limit?: number;
  detail: string;
}

export interface AnalysisRun {
  at: string;
  verdict: CheckVerdict;
  canary: Sample;
  stable?: Sample;
  checks: CheckResult[];
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

function noData(config: AnalysisConfig, check: CheckResult['check'], requests: number): CheckResult {
  const verdict: CheckVerdict =
    config.noData === 'fail' ? 'fail' : config.noData === 'pass' ? 'pass' : 'inconclusive';
  return {
    check,
    verdict,
    detail: `${requests} requests < minSamples ${config.minSamples} (noData=${config.noData})`,
  };
}

export function judgeErrorRate(config: AnalysisConfig, canary: Sample, stable?: Sample): CheckResult {
  if (canary.requests < config.minSamples) return noData(config, 'errorRate', canary.requests);
  const rate = canary.errors / canary.requests;
  if (config.compareToStable && stable) {
    if (stable.requests < config.minSamples) return noData(config, 'errorRate', stable.requests);
    const base = stable.errors / stable.requests;
    const limit = base + config.compareToStable.maxErrorRateDelta;
    return {
      check: 'errorRate',
      verdict: rate <= limit ? 'pass' : 'fail',
      value: rate,
      limit,
      detail: `5xx ${pct(rate)} vs stable ${pct(base)} (+${pct(config.compareToStable.maxErrorRateDelta)} allowed)`,
    };
  }
  const limit = config.thresholds.maxErrorRate;
  return {
    check: 'errorRate',
    verdict: rate < limit ? 'pass' : 'fail',
    value: rate,
    limit,
    detail: `5xx ${pct(rate)} (limit < ${pct(limit)}, ${canary.errors}/${canary.requests})`,
  };
}

export function judgeP95(config: AnalysisConfig, canary: Sample, stable?: Sample): CheckResult {
  if (canary.requests < config.minSamples || canary.p95Ms === undefined)
    return noData(config, 'p95', canary.requests);
  if (config.compareToStable && stable) {
    if (stable.requests < config.minSamples || stable.p95Ms === undefined)
      return noData(config, 'p95', stable.requests);
    const limit = Math.max(stable.p95Ms * config.compareToStable.maxP95Ratio, 1);
    return {
      check: 'p95',
      verdict: canary.p95Ms <= limit ? 'pass' : 'fail',
      value: canary.p95Ms,
      limit,
      detail: `P95 ${Math.round(canary.p95Ms)} ms vs stable ${Math.round(stable.p95Ms)} ms (×${config.compareToStable.maxP95Ratio} allowed)`,
    };
  }
  const limit = config.thresholds.maxP95Ms;
  return {
    check: 'p95',
    verdict: canary.p95Ms < limit ? 'pass' : 'fail',
    value: canary.p95Ms,
    limit,
    detail: `P95 ${Math.round(canary.p95Ms)} ms (limit < ${limit} ms)`,
  };
}

/** A window fails if any check fails; else it is inconclusive if any check is. */
export function judgeWindow(
  config: AnalysisConfig,
  canary: Sample,
  stable: Sample | undefined,
  at: string,
): AnalysisRun {
  const checks = [judgeErrorRate(config, canary, stable), judgeP95(config, canary, stable)];
  const verdict: CheckVerdict = checks.some((c) => c.verdict === 'fail')
    ? 'fail'
    : checks.some((c) => c.verdict === 'inconclusive')
      ? 'inconclusive'
      : 'pass';
  return { at, verdict, canary, ...(stable ? { stable } : {}), checks };
}

export type AnalysisAction = 'continue' | 'rollback' | 'hold';

/** `failureLimit` consecutive failures roll back; `inconclusiveLimit` consecutive inconclusive hold for a human. */
export function nextAction(
  config: AnalysisConfig,
  runs: AnalysisRun[],
): { action: AnalysisAction; reason: string } {
  const streak = (v: CheckVerdict) => {
    let n = 0;
    for (let i = runs.length - 1; i >= 0 && runs[i]!.verdict === v; i--) n++;
    return n;
  };
  const failures = streak('fail');
  if (failures >= config.failureLimit) {
    return {
      action: 'rollback',
      reason: `${failures} consecutive failed analyses (failureLimit ${config.failureLimit})`,
    };
  }
  const inconclusive = streak('inconclusive');
  if (inconclusive >= config.inconclusiveLimit) {
    return {
      action: 'hold',
      reason: `${inconclusive} consecutive inconclusive analyses (inconclusiveLimit ${config.inconclusiveLimit})`,
    };
  }
  return { action: 'continue', reason: runs.at(-1)?.verdict ?? 'no analysis yet' };
}

/** p95 of raw latencies (nearest-rank). */
export function p95(latencies: number[]): number | undefined {
  if (latencies.length === 0) return undefined;
  const sorted = [...latencies].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)];
}
