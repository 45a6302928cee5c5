// `npx tsx scripts/record-histories.ts [--only name,name]`: run each runbook's main paths against
// a throwaway sandbox and commit their event histories under test/replay/histories/. CI replays
// them against the current workflow code, so a change that alters command order without
// patched() fails there. Keep the old files when adding new ones: a history recorded before a
// patch is what proves the patch replays (`--only` records just the named ones).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { temporalCli } from '../src/sandbox/tools';
import { connectClient } from '../src/starters/client';
import { runbookCli, testSandbox } from '../test/helpers/sandbox';

const out = path.resolve(__dirname, '../test/replay/histories');
const image = 'fluentedgeacr.azurecr.io/fluentedge-backend';
const fast = { analysis: { interval: '2s', minSamples: 10 }, scaleDownDelay: '1s', rollbackWindow: '2s' };

async function main() {
  const sandbox = await testSandbox();
  const client = await connectClient(sandbox.config);
  const only = process.argv.includes('--only')
    ? new Set(process.argv[process.argv.indexOf('--only') + 1]!.split(','))
    : undefined;
  const pitr = {
    sourceServer: 'fluentedge-pg',
    restoreTo: 'latest',
    apps: [{ app: 'fluentedge-backend', databaseUrl: { secretRef: 'database-url' } }],
    initiator: 'carol',
    approvals: { allow: ['alice'] },
  };
  const runs: [string, string[], { gate: string; as: string }?][] = [
    [
      'healthCheck',
      ['start', 'healthCheck', '--id', 'replay-health', '--input', '{"app":"fluentedge-backend"}', '--wait'],
    ],
    [
      'canary-promoted',
      [
        'start',
        'canaryPromotion',
        '--id',
        'replay-canary-promoted',
        '--input',
        JSON.stringify({
          app: 'fluentedge-backend',
          image: `${image}:2.0.0`,
          steps: [{ setWeight: 10, bake: '4s' }, { setWeight: 100 }],
          ...fast,
        }),
        '--wait',
      ],
    ],
    [
      'canary-rolled-back',
      [
        'start',
        'canaryPromotion',
        '--id',
        'replay-canary-faulty',
        '--input',
        JSON.stringify({
          app: 'fluentedge-backend',
          image: `${image}:2.1.0-faulty`,
          steps: [{ setWeight: 10, bake: '8s' }, { setWeight: 100 }],
          ...fast,
        }),
        '--wait',
      ],
    ],
    [
      'canary-promoted-spec',
      [
        'start',
        'canaryPromotion',
        '--id',
        'replay-canary-spec',
        '--input',
        JSON.stringify({
          app: 'fluentedge-backend',
          image: `${image}:2.2.0`,
          steps: [{ setWeight: 50, bake: '2s' }, { setWeight: 100 }],
          ...fast,
        }),
        '--wait',
      ],
    ],
    [
      'dr-drill',
      ['start', 'drDrill', '--id', 'replay-drill', '--input', '{"sourceServer":"fluentedge-pg"}', '--wait'],
    ],
    [
      'full-outage-healthy',
      [
        'start',
        'fullOutageRecovery',
        '--id',
        'replay-outage',
        '--input',
        '{"app":"fluentedge-backend","database":{"server":"fluentedge-pg"}}',
        '--wait',
      ],
    ],
    [
      'pitr-cutover',
      ['start', 'pointInTimeRestore', '--id', 'replay-pitr', '--input', JSON.stringify(pitr)],
      { gate: 'cutover', as: 'alice' },
    ],
    [
      'pitr-restore-only',
      [
        'start',
        'pointInTimeRestore',
        '--id',
        'replay-pitr-only',
        '--input',
        '{"sourceServer":"fluentedge-pg","restoreTo":"latest"}',
        '--wait',
      ],
    ],
  ];
  try {
    for (const [name, args, approve] of runs) {
      if (only && !only.has(name)) continue;
      const run = await runbookCli(args, sandbox.env);
      const id = args[args.indexOf('--id') + 1]!;
      const handle = client.workflow.getHandle(id);
      if (approve) {
        for (let i = 0; i < 600; i++) {
          const st = (await handle.query('status')) as { pendingGate?: { gate: string } };
          if (st.pendingGate?.gate === approve.gate) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        await runbookCli(['approve', id, '--gate', approve.gate, '--as', approve.as], sandbox.env);
      }
      await handle.result().catch(() => undefined);
      // The CLI writes the canonical proto3 JSON that historyFromJSON reads.
      const json = execFileSync(temporalCli(), [
        'workflow',
        'show',
        '--workflow-id',
        id,
        '--address',
        sandbox.config.temporal.address,
        '--output',
        'json',
      ]).toString();
      const file = path.join(out, `${name}.json`);
      writeFileSync(file, json);
      // Committed as the linter formats it (`npm test` lints test/).
      execFileSync('npx', ['biome', 'format', '--write', file], { stdio: 'ignore' });
      console.log(
        `${name}: exit ${run.code}, ${(JSON.parse(json) as { events: unknown[] }).events.length} events`,
      );
    }
  } finally {
    await client.connection.close();
    await sandbox.close();
  }
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
