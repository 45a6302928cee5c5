import { p95, type Sample } from '../domain/analysis';
import { healthBody, type Probe } from '../domain/healthCheck';

// HTTP probes of the app itself. A probe never throws for an unhealthy answer: a 503 or a refused
// connection is an observation for the verdict, not an activity failure to retry.

export function createHttpActivities(deps: { fetch?: typeof fetch } = {}) {
  const doFetch = deps.fetch ?? fetch;
  return {
    async probeWindow(input: ProbeWindowInput): Promise<Sample> {
      return probeWindow(input, doFetch);
    },
    async probeHealth(input: { url: string; timeoutMs?: number }): Promise<Probe> {
      const url = `${input.url.replace(/\/$/, '')}/health`;
      const started = performance.now();
      try {
        const res = await doFetch(url, {
          signal: AbortSignal.timeout(input.timeoutMs ?? 5000),
          headers: { accept: 'application/json' },
        });
        const text = await res.text();
        const probe: Probe = {
          url,
          httpStatus: res.status,
          latencyMs: Math.round(performance.now() - started),
        };
        const servedBy = res.headers.get('x-sandbox-revision') ?? res.headers.get('x-revision');
        if (servedBy) probe.servedBy = servedBy;
        try {
          const parsed = healthBody.safeParse(JSON.parse(text));
          if (parsed.success) probe.body = parsed.data;
        } catch {
          // A non-JSON body is judged as such by the verdict.
        }
        return probe;
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code;
        return {
          url,
          latencyMs: Math.round(performance.now() - started),
          error: cause ?? (err as Error).name ?? String(err),
        };
      }
    },
  };
}

export interface ProbeWindowInput {
  url: string;
  paths: string[];
  requests: number;
  timeoutMs?: number;
  /** Spread the requests over this long, so a window measures a period and not a burst. */
  spreadMs?: number;
}

/**
 * The `probe` analysis provider: N requests to a revision's direct URL; 5xx, timeouts and
 * refused connections count as errors. Read-only, safe to retry.
 */
export async function probeWindow(input: ProbeWindowInput, doFetch: typeof fetch = fetch): Promise<Sample> {
  const latencies: number[] = [];
  let errors = 0;
  const gap = input.spreadMs ? input.spreadMs / input.requests : 0;
  const one = async (i: number) => {
    const path = input.paths[i % input.paths.length] ?? '/health';
    const started = performance.now();
    try {
      const res = await doFetch(`${input.url.replace(/\/$/, '')}${path}`, {
        signal: AbortSignal.timeout(input.timeoutMs ?? 10_000),
      });
      await res.arrayBuffer();
      if (res.status >= 500) errors++;
    } catch {
      errors++;
    }
    latencies.push(performance.now() - started);
  };
  // Bounded concurrency keeps a slow revision from being hammered by the analysis itself.
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < input.requests; i++) {
    const p = one(i).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= 5) await Promise.race(inFlight);
    if (gap) await new Promise((r) => setTimeout(r, gap));
  }
  await Promise.all(inFlight);
  const p = p95(latencies);
  return { requests: input.requests, errors, ...(p === undefined ? {} : { p95Ms: Math.round(p) }) };
}
