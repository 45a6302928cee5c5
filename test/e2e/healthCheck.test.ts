import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAzureClients } from '../../src/activities/azure';
import type { HealthReport } from '../../src/domain/healthCheck';
import type { Sandbox } from '../../src/sandbox/environment';
import { admin, jsonLines, runbookCli, testSandbox } from '../helpers/sandbox';

// The foundation end to end: CLI → real Temporal dev server → worker process → real SDK clients →
// ARM emulator → real revision processes and PostgreSQL.

describe('healthCheck through the CLI against the sandbox', () => {
  let sandbox: Sandbox;
  const app = 'fluentedge-backend';

  before(async () => {
    sandbox = await testSandbox();
  });
  after(async () => {
    await sandbox?.close();
  });

  test('the seeded app has one revision at weight 100, read through the real SDK', async () => {
    const azure = createAzureClients(sandbox.config);
    const revisions = [];
    for await (const r of azure.containerApps.containerAppsRevisions.listRevisions(
      sandbox.endpoints.resourceGroup,
      app,
    )) {
      revisions.push(r);
    }
    assert.deepEqual(
      revisions.map((r) => [r.name, r.active, r.trafficWeight]),
      [[`${app}--v1`, true, 100]],
    );
  });

  test('healthy app → exit 0 and a healthy report', async () => {
    const run = await runbookCli(
      ['start', 'healthCheck', '--input', JSON.stringify({ app }), '--wait', '--id', 'hc-e2e-healthy'],
      sandbox.env,
    );
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /fluentedge-backend \(sandbox, rg-fluentedge-sandbox\): HEALTHY/);
    assert.match(
      run.stdout,
      /fluentedge-backend--v1: healthy \(100%, Running\/Healthy, \/health 200, db ok, redis ok, llm azure-openai closed\)/,
    );
  });

  test('a fault-injected revision is reported unhealthy → exit 1', async () => {
    const azure = createAzureClients(sandbox.config);
    const rev = await azure.containerApps.containerAppsRevisions.getRevision(
      sandbox.endpoints.resourceGroup,
      app,
      `${app}--v1`,
    );
    const direct = `http://${rev.fqdn}`;
    const knobs = await fetch(`${direct}/_sandbox/knobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ health: 'unhealthy' }),
    });
    assert.equal(knobs.status, 200);
    try {
      const run = await runbookCli(
        [
          'start',
          'healthCheck',
          '--input',
          JSON.stringify({ app }),
          '--wait',
          '--json',
          '--id',
          'hc-e2e-faulty',
        ],
        sandbox.env,
      );
      assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`);
      const result = jsonLines(run.stdout).find((l) => l.event === 'result') as {
        ok: boolean;
        result: HealthReport;
      };
      assert.equal(result.ok, false);
      assert.equal(result.result.verdict, 'unhealthy');
      const v1 = result.result.revisions.find((r) => r.name === `${app}--v1`);
      assert.equal(v1?.verdict, 'unhealthy');
      assert.equal(v1?.probe?.httpStatus, 503);
      assert.equal(result.result.ingress?.httpStatus, 503);
    } finally {
      await fetch(`${direct}/_sandbox/knobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ health: 'auto' }),
      });
    }
  });

  test('status and list show the runs; dry run mutates nothing', async () => {
    const before = await admin<{ count: number }>(sandbox, '/mutations/count');
    const dry = await runbookCli(
      [
        'start',
        'healthCheck',
        '--input',
        JSON.stringify({ app, dryRun: true }),
        '--wait',
        '--json',
        '--id',
        'hc-e2e-dry',
      ],
      sandbox.env,
    );
    assert.equal(dry.code, 0, dry.stderr);
    const plan = jsonLines(dry.stdout).find((l) => l.event === 'result') as { result: { probes: string[] } };
    assert.equal(plan.result.probes.length, 2);
    const afterCount = await admin<{ count: number }>(sandbox, '/mutations/count');
    assert.equal(afterCount.count, before.count);

    const status = await runbookCli(['status', 'hc-e2e-healthy', '--json'], sandbox.env);
    assert.equal(status.code, 0, status.stderr);
    const s = jsonLines(status.stdout)[0] as {
      execution: string;
      status: { phase: string; outcome: string };
    };
    assert.equal(s.execution, 'COMPLETED');
    assert.equal(s.status.phase, 'completed');
    assert.equal(s.status.outcome, 'healthy');

    // Same id again: the finished run is reported, not repeated; --rerun starts it anew.
    const again = await runbookCli(
      ['start', 'healthCheck', '--input', JSON.stringify({ app }), '--id', 'hc-e2e-healthy', '--wait'],
      sandbox.env,
    );
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /hc-e2e-healthy already ran \(COMPLETED\)/);
    assert.match(again.stdout, /HEALTHY/);

    const list = await runbookCli(['list', '--kind', 'healthCheck', '--json'], sandbox.env);
    assert.equal(list.code, 0, list.stderr);
    const ids = (JSON.parse(list.stdout) as { workflowId: string }[]).map((r) => r.workflowId).sort();
    assert.deepEqual(ids, ['hc-e2e-dry', 'hc-e2e-faulty', 'hc-e2e-healthy']);
  });
});
