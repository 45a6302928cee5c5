import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../../src/activities';
import type { Sample } from '../../src/domain/analysis';
import type { CanaryResult, Weights } from '../../src/domain/canary';
import type { AppView } from '../../src/domain/healthCheck';
import type { RunbookStatus } from '../../src/domain/status';
import { timeSkippingEnv, workflowBundle } from '../helpers/temporal';

// The manual's default plan with its real 10-minute bakes, 30-second analysis interval, a one-hour
// approval expiry and a one-hour rollback window — hours of workflow time in seconds, on the
// time-skipping server. Activities are recorded in memory; the sandbox e2e tests cover the real ones.

const image = 'fluentedgeacr.azurecr.io/fluentedge-backend:2.0.0';
const stable = 'fluentedge-backend--v1';

function fakeEstate(env: () => TestWorkflowEnvironment) {
  const calls: { name: string; at: number; arg?: unknown }[] = [];
  let weights: Weights = { [stable]: 100 };
  const now = () => env().currentTimeMs();
  const record = async (name: string, arg?: unknown) => {
    calls.push({ name, at: Number(await now()), arg });
  };
  const activities: Partial<Activities> = {
    runbookSettings: async () => ({
      lang: 'en',
      environment: 'staging',
      resourceGroup: 'rg-test',
      target: 'sandbox',
    }),
    readApp: async (): Promise<AppView> => ({
      name: 'fluentedge-backend',
      resourceGroup: 'rg-test',
      revisionMode: 'Multiple',
      revisions: [{ name: stable, active: true, trafficWeight: 100, image: 'x:1.0.0', url: 'http://stable' }],
    }),
    prepareMultipleMode: async () => ({ changedMode: false, previousMode: 'Multiple' }),
    deployRevision: async (i) => {
      await record('deploy', i.suffix);
      return { revision: `fluentedge-backend--${i.suffix}`, created: true };
    },
    waitRevisionReady: async (i) => ({
      name: i.revision,
      active: true,
      trafficWeight: 0,
      runningState: 'Running',
      healthState: 'Healthy',
      url: 'http://canary',
    }),
    probeHealth: async ({ url }) => ({
      url,
      httpStatus: 200,
      latencyMs: 1,
      body: { status: 'healthy', database: { status: 'ok' } },
    }),
    setTraffic: async (i) => {
      weights = i.weights;
      await record('setTraffic', i.weights);
      return { changed: true, weights: i.weights };
    },
    probeWindow: async (): Promise<Sample> => {
      await record('probeWindow');
      return { requests: 20, errors: 0, p95Ms: 80 };
    },
    deactivateRevision: async (i) => {
      await record('deactivate', i.revision);
      return { changed: true };
    },
    restoreStable: async (i) => {
      weights = { [i.stable]: 100 };
      await record('restoreStable', i);
      return { changed: ['restored'] };
    },
    requestLock: async (req) => {
      await env().client.workflow.signalWithStart('resourceLock', {
        workflowId: `lock-${req.resource}`,
        taskQueue: 'test-canary',
        args: [req.resource],
        signal: 'acquire',
        signalArgs: [{ requester: req.requester, token: req.token, mode: req.mode }],
      });
    },
    workflowOpen: async () => true,
    recordKnownGoodSpec: async (i) => {
      await record('recordKnownGoodSpec', i);
      return {
        resourceGroup: i.resourceGroup,
        app: i.app,
        recordedAt: new Date().toISOString(),
        image,
        spec: {},
      } as never;
    },
  };
  return { calls, activities, weights: () => weights };
}

describe('canaryPromotion with the real 10-minute bakes (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await timeSkippingEnv();
  });
  after(async () => {
    await env?.teardown();
  });

  async function withWorker<T>(activities: Partial<Activities>, fn: () => Promise<T>): Promise<T> {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'test-canary',
      workflowBundle: await workflowBundle(),
      activities,
    });
    return worker.runUntil(fn);
  }

  test('10% bake 10 m → 50% bake 10 m → approval → 100%, analysis every 30 s, old revision scaled down', async () => {
    const estate = fakeEstate(() => env);
    await withWorker(estate.activities, async () => {
      const handle = await env.client.workflow.start('canaryPromotion', {
        taskQueue: 'test-canary',
        workflowId: 'canary-ts-approve',
        args: [{ app: 'fluentedge-backend', image, initiator: 'ci-bot' }],
      });
      // Time skips while we wait for the gate; then a human approves.
      for (;;) {
        await env.sleep('30s');
        const s = await handle.query<RunbookStatus>('status');
        if (s.pendingGate) break;
      }
      const answer = await handle.executeUpdate('decide', {
        args: [{ gate: 'step-2', approver: 'alice', decision: 'approve', comment: 'ok' }],
      });
      assert.deepEqual(answer, { accepted: true, reason: 'approved by alice (1/1)', closes: 'approved' });
      const result = (await handle.result()) as CanaryResult;
      assert.equal(result.outcome, 'promoted');
    });
    const traffic = estate.calls.filter((c) => c.name === 'setTraffic');
    const canary = `fluentedge-backend--${estate.calls.find((c) => c.name === 'deploy')!.arg}`;
    assert.deepEqual(
      traffic.map((c) => c.arg),
      [{ [canary]: 10, [stable]: 90 }, { [canary]: 50, [stable]: 50 }, { [canary]: 100 }],
    );
    const first = traffic[0]!.at;
    assert.ok(traffic[1]!.at - first >= 10 * 60_000, '10-minute bake at 10%');
    assert.ok(traffic[2]!.at - traffic[1]!.at >= 10 * 60_000, '10-minute bake at 50% (plus the gate)');
    assert.equal(
      estate.calls.filter((c) => c.name === 'probeWindow').length,
      40,
      'analysis every 30 s for 2 × 10 min',
    );
    const scaled = estate.calls.find((c) => c.name === 'deactivate');
    assert.equal(scaled?.arg, stable);
    assert.ok(scaled!.at - traffic[2]!.at >= 60_000, 'scaled down after the default 1-minute delay');
  });

  test('nobody approves within the hour → the safe default: rollback', async () => {
    const estate = fakeEstate(() => env);
    const result = await withWorker(estate.activities, async () => {
      const handle = await env.client.workflow.start('canaryPromotion', {
        taskQueue: 'test-canary',
        workflowId: 'canary-ts-expire',
        args: [{ app: 'fluentedge-backend', image }],
      });
      return (await handle.result()) as CanaryResult;
    });
    assert.equal(result.outcome, 'rolled-back');
    assert.equal(result.reason, 'gate step-2 expired');
    const restore = estate.calls.find((c) => c.name === 'restoreStable')!;
    const gateOpened = estate.calls.filter((c) => c.name === 'probeWindow').at(-1)!.at;
    assert.ok(restore.at - gateOpened >= 3_600_000, 'waited the full hour');
    assert.deepEqual(estate.weights(), { [stable]: 100 });
  });
});
