// Per-revision request outcomes and latency as the ingress saw them, in Prometheus text format.
// The default canary analysis templates query these series (5xx ratio, p95 per revision).

/** Seconds. 3 sits on the manual's P95 threshold (3000 ms) so a quantile there is not a guess. */
export const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 3, 5, 10] as const;

export type CodeClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx';

export function codeClass(status: number): CodeClass {
  const c = Math.min(5, Math.max(1, Math.floor(status / 100)));
  return `${c}xx` as CodeClass;
}

interface RevisionSeries {
  requests: Map<CodeClass, number>;
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  buckets: number[];
  sum: number;
  count: number;
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toFixed(9)));
}

export class IngressMetrics {
  private readonly series = new Map<string, RevisionSeries>();
  private unrouted = 0;

  constructor(readonly app: string) {}

  record(revision: string, status: number, seconds: number): void {
    let s = this.series.get(revision);
    if (!s) {
      s = { requests: new Map(), buckets: new Array(latencyBuckets.length + 1).fill(0), sum: 0, count: 0 };
      this.series.set(revision, s);
    }
    const cls = codeClass(status);
    s.requests.set(cls, (s.requests.get(cls) ?? 0) + 1);
    const i = latencyBuckets.findIndex((le) => seconds <= le);
    const slot = i < 0 ? latencyBuckets.length : i;
    s.buckets[slot] = (s.buckets[slot] ?? 0) + 1;
    s.sum += seconds;
    s.count++;
  }

  /** A request that found no running revision with weight (answered 503 by the ingress itself). */
  recordUnrouted(): void {
    this.unrouted++;
  }

  /** Requests per revision and code class, for tests and the sandbox's own summaries. */
  counts(): Record<string, Partial<Record<CodeClass, number>>> {
    const out: Record<string, Partial<Record<CodeClass, number>>> = {};
    for (const [rev, s] of this.series) out[rev] = Object.fromEntries(s.requests);
    return out;
  }

  render(weights: ReadonlyMap<string, number> = new Map()): string {
    const app = esc(this.app);
    const lines: string[] = [
      '# HELP sandbox_ingress_requests_total Requests answered through the ingress, by revision and status class.',
      '# TYPE sandbox_ingress_requests_total counter',
    ];
    const revs = [...this.series.keys()].sort();
    for (const rev of revs) {
      const s = this.series.get(rev)!;
      for (const cls of [...s.requests.keys()].sort()) {
        lines.push(
          `sandbox_ingress_requests_total{app="${app}",revision="${esc(rev)}",code_class="${cls}"} ${s.requests.get(cls)}`,
        );
      }
    }
    lines.push(
      '# HELP sandbox_ingress_request_duration_seconds Time from the ingress receiving a request to the response finishing.',
      '# TYPE sandbox_ingress_request_duration_seconds histogram',
    );
    for (const rev of revs) {
      const s = this.series.get(rev)!;
      const labels = `app="${app}",revision="${esc(rev)}"`;
      let cum = 0;
      latencyBuckets.forEach((le, i) => {
        cum += s.buckets[i] ?? 0;
        lines.push(`sandbox_ingress_request_duration_seconds_bucket{${labels},le="${le}"} ${cum}`);
      });
      lines.push(`sandbox_ingress_request_duration_seconds_bucket{${labels},le="+Inf"} ${s.count}`);
      lines.push(`sandbox_ingress_request_duration_seconds_sum{${labels}} ${fmt(s.sum)}`);
      lines.push(`sandbox_ingress_request_duration_seconds_count{${labels}} ${s.count}`);
    }
    lines.push(
      '# HELP sandbox_ingress_unrouted_requests_total Requests answered 503 because no running revision had weight.',
      '# TYPE sandbox_ingress_unrouted_requests_total counter',
      `sandbox_ingress_unrouted_requests_total{app="${app}"} ${this.unrouted}`,
      '# HELP sandbox_ingress_traffic_weight Current traffic weight of each revision, percent.',
      '# TYPE sandbox_ingress_traffic_weight gauge',
    );
    for (const [rev, w] of [...weights].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`sandbox_ingress_traffic_weight{app="${app}",revision="${esc(rev)}"} ${w}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

/** Parses the text format back into `name{labels} → value`; tests and probes read /metrics with it. */
export function parseMetrics(
  text: string,
): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1] ?? ''] = (l[2] ?? '').replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    out.push({ name: m[1] ?? '', labels, value: Number(m[3]) });
  }
  return out;
}
