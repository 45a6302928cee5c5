import { healthBody, type Probe } from '../domain/healthCheck';

// HTTP probes of the app itself. A probe never throws for an unhealthy answer: a 503 or a refused
// connection is an observation for the verdict, not an activity failure to retry.

export function createHttpActivities(deps: { fetch?: typeof fetch } = {}) {
  const doFetch = deps.fetch ?? fetch;
  return {
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
