import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAzureClients } from '../../src/activities/azure';
import { createContainerAppsActivities } from '../../src/activities/containerApps';
import { createPrometheusActivities } from '../../src/activities/prometheus';
import type { Sample } from '../../src/domain/analysis';
import type { CanaryResult } from '../../src/domain/canary';
import { parseMetrics } from '../../src/sandbox/apps/metrics';
import type { Sandbox } from '../../src/sandbox/environment';
import { type Load, startLoad } from '../../src/sandbox/load';
import { findPrometheus } from '../../src/sandbox/prometheus';
import { admin, jsonLines, runbookCli, testSandbox } from '../helpers/sandbox';

// The `prometheus` analysis provider against the real Prometheus server (Debian's package,
// installed by .ci/run) scraping the sandbox ingress: PromQL windows agree with the ingress's own
// counters, and a faulty canary analysed only through Prometheus is rolled back.

const app = 'fluentedge-backend';
const stable = `${app}--v1`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const absent = !findPrometheus();
// CI installs prometheus; a missing binary there is a failure, not a skip.
const skip = absent && !process.env.CI ? 'prometheus not on PATH (apt-get install prometheus)' : false;

interface Mutation {
  seq: number;
  time: string;
  method: string;
  path: string;
  body: unknown;
}

/** Traffic weights each PATCH of the app asked for, in order. */
function trafficPatches(mutations: Mutation[]): Record<string, number>[] {
  return mutations
    .filter((m) => m.method === 'PATCH' && /\/containerApps\/[^/]+$/i.test(m.path.split('?')[0] ?? ''))
    .map(
      (m) =>
        (m.body as { properties?: { configuration?: { ingress?: { traffic?: unknown } } } }).properties
          ?.configuration?.ingress?.traffic as { revisionName: string; weight: number }[] | undefined,
    )
    .filter((t): t is { revisionName: string; weight: number }[] => Array.isArray(t))
    .map((t) => Object.fromEntries(t.map((x) => [x.revisionName, x.weight])));
}

/** Requests and 5xx per revision as the ingress counted them. */
async function ingressCounts(url: string, revision: string): Promise<{ requests: number; errors: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const series = parseMetrics(text).filter(
    (m) => m.name === 'sandbox_ingress_requests_total' && m.labels.revision === revision,
  );
  return {
    requests: series.reduce((a, m) => a + m.value, 0),
    errors: series.filter((m) => m.labels.code_class === '5xx').reduce((a, m) => a + m.value, 0),
  };
}

/**
 * `increase()` extrapolates from the first and last samples towards the window's edges (up to
 * about 1.5 scrape intervals over a ~16 s series here) and misses what came before the first
 * scrape, so a PromQL count is close to, not exactly, the counter's value: within 15% (or 5).
 */
function assertClose(measured: number, actual: number, what: string): void {
  const tolerance = Math.max(5, actual * 0.15);
  assert.ok(
    Math.abs(measured - actual) <= tolerance,
    `${what}: Prometheus says ${measured}, the ingress counted ${actual} (tolerance ±${tolerance.toFixed(1)})`,
  );
}

describe('prometheus analysis provider with the real Prometheus', { skip }, () => {
  let sandbox: Sandbox;
  let prometheusUrl: string;
  let ingressUrl: string;
  let load: Load | undefined;

  before(async () => {
    sandbox = await testSandbox();
    const url = sandbox.endpoints.prometheusUrl;
    assert.equal(
      typeof url,
      'string',
      'the sandbox started Prometheus and wrote prometheusUrl to endpoints.json',
    );
    prometheusUrl = url as string;
    ingressUrl = sandbox.endpoints.ingress[app] as string;
  });
  after(async () => {
    await load?.stop();
    await sandbox?.close();
  });

  test('Prometheus scrapes the ingress and is ready on loopback', async () => {
    assert.match(prometheusUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${prometheusUrl}/api/v1/targets?state=active`);
    const body = (await res.json()) as { data: { activeTargets: { scrapeUrl: string }[] } };
    assert.deepEqual(
      body.data.activeTargets.map((t) => t.scrapeUrl),
      [`${ingressUrl}/metrics`],
    );
  });

  test('prometheusWindow counts what the ingress counted, per revision, 5xx included', async (t) => {
    const azure = createAzureClients(sandbox.config);
    const arm = createContainerAppsActivities({
      client: azure.containerApps,
      urlScheme: 'http',
      pollMs: 250,
    });
    const ref = { resourceGroup: sandbox.endpoints.resourceGroup, app };
    const image = 'fluentedgeacr.azurecr.io/fluentedge-backend:2.1.0-faulty';
    const { revision } = await arm.deployRevision({ ...ref, image, suffix: 'prom-faulty' });
    await arm.waitRevisionReady({ ...ref, revision, timeoutMs: 60_000 });
    await arm.setTraffic({ ...ref, weights: { [revision]: 50, [stable]: 50 } });
    try {
      load = startLoad({ url: ingressUrl, rps: 25, concurrency: 8, paths: ['GET /api/v1/conversations'] });
      await sleep(12_000);
      await load.stop();
      load = undefined;
      // A few more scrapes, so Prometheus holds the counters' final values.
      await sleep(4_000);

      const { prometheusWindow } = createPrometheusActivities();
      const measured: Record<string, Sample> = {};
      for (const rev of [revision, stable]) {
        measured[rev] = await prometheusWindow({ url: prometheusUrl, app, revision: rev, window: '60s' });
      }
      const canaryCount = await ingressCounts(ingressUrl, revision);
      const stableCount = await ingressCounts(ingressUrl, stable);
      assert.ok(canaryCount.requests >= 80, `canary got ${canaryCount.requests} requests`);
      assert.ok(canaryCount.errors >= 5, `canary answered ${canaryCount.errors} 5xx`);
      assert.equal(stableCount.errors, 0);

      const c = measured[revision]!;
      const s = measured[stable]!;
      t.diagnostic(
        `canary: prometheus ${c.requests} req / ${c.errors} 5xx (p95 ${c.p95Ms} ms), ingress ${canaryCount.requests} / ${canaryCount.errors}; ` +
          `stable: prometheus ${s.requests} / ${s.errors}, ingress ${stableCount.requests} / ${stableCount.errors}`,
      );
      assertClose(c.requests, canaryCount.requests, 'canary requests');
      assertClose(c.errors, canaryCount.errors, 'canary 5xx');
      assertClose(s.requests, stableCount.requests, 'stable requests');
      assert.equal(s.errors, 0);
      // The manual's check on these numbers: the faulty canary is far over 1% 5xx, stable is clean.
      assert.ok(c.errors / c.requests > 0.05, `canary 5xx ratio ${c.errors}/${c.requests}`);
      assert.ok(c.p95Ms !== undefined && c.p95Ms > 0 && c.p95Ms < 3000, `canary p95 ${c.p95Ms}`);
      assert.ok(s.p95Ms !== undefined && s.p95Ms > 0, `stable p95 ${s.p95Ms}`);

      // A revision Prometheus never saw is "no data", not zero errors out of something.
      const none = await prometheusWindow({
        url: prometheusUrl,
        app,
        revision: `${app}--never`,
        window: '60s',
      });
      assert.deepEqual(none, { requests: 0, errors: 0 });
    } finally {
      await arm.restoreStable({ ...ref, stable, canary: revision });
    }
  });

  test('a -faulty canary analysed only through Prometheus is rolled back: exit 1, 100% stable', async () => {
    const before = await admin<{ count: number }>(sandbox, '/mutations/count');
    const input = {
      app,
      image: 'fluentedgeacr.azurecr.io/fluentedge-backend:2.2.0-faulty',
      steps: [{ setWeight: 50, bake: '40s' }, { setWeight: 100 }],
      // probeRequests < minSamples: were the probe provider used, every window would be "no data"
      // (a hold), never a failure; only Prometheus' numbers can roll this back.
      analysis: {
        provider: 'prometheus',
        prometheusUrl,
        interval: '4s',
        minSamples: 10,
        failureLimit: 2,
        noData: 'hold',
        probeRequests: 5,
      },
      scaleDownDelay: '1s',
      rollbackWindow: '1s',
    };
    load = startLoad({ url: ingressUrl, rps: 20, concurrency: 8, paths: ['GET /api/v1/conversations'] });
    const run = await runbookCli(
      ['start', 'canaryPromotion', '--input', JSON.stringify(input), '--wait', '--json'],
      sandbox.env,
      90_000,
    );
    await load.stop();
    load = undefined;
    assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`);
    const result = jsonLines(run.stdout).find((l) => l.event === 'result') as
      | { ok: boolean; result: CanaryResult }
      | undefined;
    assert.ok(result, run.stdout);
    assert.equal(result.result.outcome, 'rolled-back');
    assert.match(result.result.reason, /consecutive failed analyses/);
    const failed = result.result.analysis.filter((a) => a.verdict === 'fail');
    assert.ok(failed.length >= 2, JSON.stringify(result.result.analysis));
    for (const a of failed) {
      assert.ok(a.canary.requests >= 10 && a.canary.requests !== 5, `window counted ${a.canary.requests}`);
      assert.ok(a.canary.errors > 0);
    }

    const { mutations } = await admin<{ mutations: Mutation[] }>(sandbox, `/mutations?since=${before.count}`);
    const canary = result.result.canary as string;
    const weights = trafficPatches(mutations);
    assert.deepEqual(weights.at(-2), { [canary]: 50, [stable]: 50 }, JSON.stringify(weights));
    assert.deepEqual(weights.at(-1), { [stable]: 100 }, JSON.stringify(weights));
    const revisions = [];
    const azure = createAzureClients(sandbox.config);
    for await (const r of azure.containerApps.containerAppsRevisions.listRevisions(
      sandbox.endpoints.resourceGroup,
      app,
    ))
      revisions.push(r);
    const live = revisions
      .filter((r) => r.active && (r.trafficWeight ?? 0) > 0)
      .map((r) => [r.name, r.trafficWeight]);
    assert.deepEqual(live, [[stable, 100]]);
    assert.equal(revisions.find((r) => r.name === canary)?.active, false);
  });
});
