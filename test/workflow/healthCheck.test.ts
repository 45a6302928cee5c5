import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../../src/activities';
import type { AppView, Probe } from '../../src/domain/healthCheck';
import type { RunbookStatus } from '../../src/domain/status';
import { localEnv, workflowBundle } from '../helpers/temporal';

// Workflow logic against the real dev server with recorded activity calls: validation happens
// before any activity, dry run probes nothing, and the status query tells the whole story.

const app: AppView = {
  name: 'fluentedge-backend',
  resourceGroup: 'rg-test',
  revisionMode: 'Multiple',
  ingressUrl: 'http://ingress',
  revisions: [
    {
      name: 'fluentedge-backend--a',
      active: true,
      trafficWeight: 90,
      runningState: 'Running',
      url: 'http://a',
    },
    {
      name: 'fluentedge-backend--b',
      active: true,
      trafficWeight: 10,
      runningState: 'Running',
      url: 'http://b',
    },
    { name: 'fluentedge-backend--old', active: false, trafficWeight: 0, url: 'http://old' },
  ],
};
const healthy = {
  status: 'healthy',
  database: { status: 'ok' },
  redis: { status: 'ok' },
  llm: { circuit: 'closed' },
};

describe('healthCheck workflow', () => {
  let env: TestWorkflowEnvironment;
  const calls: string[] = [];
  const activities = {
    runbookSettings: async () => ({
      lang: 'en' as const,
      environment: 'sandbox' as const,
      resourceGroup: 'rg-test',
      target: 'sandbox' as const,
    }),
    readApp: async (input: { resourceGroup: string; app: string }) => {
      calls.push(`readApp ${input.resourceGroup}/${input.app}`);
      return app;
    },
    probeHealth: async ({ url }: { url: string }): Promise<Probe> => {
      calls.push(`probe ${url}`);
      const status = url === 'http://b' ? 503 : 200;
      return {
        url: `${url}/health`,
        httpStatus: status,
        latencyMs: 3,
        body: { ...healthy, status: status === 200 ? 'healthy' : 'unhealthy' },
      };
    },
  } as unknown as Activities;

  before(async () => {
    env = await localEnv();
  });
  after(async () => {
    await env?.teardown();
  });

  async function run<T>(id: string, input: unknown, fn?: (status: RunbookStatus) => void): Promise<T> {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'test-health',
      workflowBundle: await workflowBundle(),
      activities,
    });
    return worker.runUntil(async () => {
      const handle = await env.client.workflow.start('healthCheck', {
        taskQueue: 'test-health',
        workflowId: id,
        args: [input],
      });
      try {
        return (await handle.result()) as T;
      } finally {
        if (fn)
          fn(await handle.query<RunbookStatus>('status').catch(() => undefined as unknown as RunbookStatus));
      }
    });
  }

  test('invalid input fails before any activity, naming every field', async () => {
    calls.length = 0;
    await assert.rejects(
      run('hc-bad', { app: 'Bad_Name', environment: 'prod', extra: true }),
      (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        const message = err.cause?.message ?? '';
        assert.match(message, /app: expected a container app name/);
        assert.match(message, /environment: expected production/);
        assert.match(message, /extra: unknown field/);
        return true;
      },
    );
    assert.deepEqual(calls, []);
  });

  test('dry run reads the app and returns the probe plan without probing', async () => {
    calls.length = 0;
    let status: RunbookStatus | undefined;
    const plan = await run<{ probes: string[] }>(
      'hc-dry',
      { app: 'fluentedge-backend', dryRun: true },
      (s) => {
        status = s;
      },
    );
    assert.deepEqual(calls, ['readApp rg-test/fluentedge-backend']);
    assert.deepEqual(plan.probes, ['http://ingress/health', 'http://a/health', 'http://b/health']);
    assert.equal(status?.phase, 'planned');
    assert.equal(status?.dryRun, true);
  });

  test('a broken canary at 10% makes the verdict unhealthy; inactive revisions are not probed', async () => {
    calls.length = 0;
    let status: RunbookStatus | undefined;
    const report = await run<{ verdict: string; revisions: { name: string; verdict: string }[] }>(
      'hc-run',
      { app: 'fluentedge-backend' },
      (s) => {
        status = s;
      },
    );
    assert.equal(report.verdict, 'unhealthy');
    assert.deepEqual(
      report.revisions.map((r) => [r.name, r.verdict]),
      [
        ['fluentedge-backend--a', 'healthy'],
        ['fluentedge-backend--b', 'unhealthy'],
      ],
    );
    assert.ok(!calls.includes('probe http://old'));
    assert.equal(status?.phase, 'completed');
    assert.equal(status?.outcome, 'unhealthy');
    assert.deepEqual(
      status?.history.filter((h) => h.event === 'step').map((h) => h.step),
      ['1', '2', '3', '4'],
    );
  });
});
