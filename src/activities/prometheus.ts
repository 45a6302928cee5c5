import { ApplicationFailure } from '@temporalio/common';
import type { Sample } from '../domain/analysis';

// The `prometheus` analysis provider: PromQL over the HTTP API. The default templates read the
// sandbox ingress metrics; production points `analysis.prometheusUrl` at its own Prometheus
// with the same metric names (or overrides the templates).

export const defaultQueries = {
  requests: 'sum(increase(sandbox_ingress_requests_total{app="{app}",revision="{revision}"}[{window}]))',
  errors:
    'sum(increase(sandbox_ingress_requests_total{app="{app}",revision="{revision}",code_class="5xx"}[{window}]))',
  p95: 'histogram_quantile(0.95, sum by (le) (rate(sandbox_ingress_request_duration_seconds_bucket{app="{app}",revision="{revision}"}[{window}])))',
} as const;

export function render(template: string, vars: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => vars[k] ?? `{${k}}`);
}

async function instant(url: string, query: string, doFetch: typeof fetch): Promise<number | undefined> {
  const res = await doFetch(`${url.replace(/\/$/, '')}/api/v1/query?${new URLSearchParams({ query })}`, {
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: { value: [number, string] }[] };
  };
  if (res.status === 400 || body.status === 'error') {
    // A bad query will be bad on every retry.
    throw ApplicationFailure.nonRetryable(
      `PromQL error: ${body.error ?? res.status}: ${query}`,
      'PromQLError',
    );
  }
  const v = body.data?.result?.[0]?.value?.[1];
  if (v === undefined || v === 'NaN') return undefined;
  return Number(v);
}

export function createPrometheusActivities(deps: { fetch?: typeof fetch } = {}) {
  const doFetch = deps.fetch ?? fetch;
  return {
    /** Read-only. Seconds-granularity windows ("30s"); at least 2 scrapes are needed for increase(). */
    async prometheusWindow(input: {
      url: string;
      app: string;
      revision: string;
      window: string;
    }): Promise<Sample> {
      const vars = { app: input.app, revision: input.revision, window: input.window };
      const [requests, errors, p95s] = await Promise.all([
        instant(input.url, render(defaultQueries.requests, vars), doFetch),
        instant(input.url, render(defaultQueries.errors, vars), doFetch),
        instant(input.url, render(defaultQueries.p95, vars), doFetch),
      ]);
      const n = Math.round(requests ?? 0);
      return {
        requests: n,
        errors: Math.min(n, Math.round(errors ?? 0)),
        ...(p95s === undefined || !Number.isFinite(p95s) ? {} : { p95Ms: Math.round(p95s * 1000) }),
      };
    },
  };
}
