import path from 'node:path';
import { sandboxDir } from '../config';
import { createLogger } from '../log';
import { defaultPorts, startSandbox } from './environment';

// `npm run sandbox [-- --reset]`: the whole rehearsal environment on loopback, until Ctrl-C.

async function main() {
  const started = Date.now();
  const reset = process.argv.includes('--reset');
  const log = createLogger('sandbox', (process.env.LOG_LEVEL as 'info') ?? 'info');
  const sandbox = await startSandbox({ dataDir: sandboxDir, ports: defaultPorts, reset, loadRps: 2, log });
  const e = sandbox.endpoints;
  const rel = (p: string) => path.relative(process.cwd(), p) || p;
  const lines = [
    '',
    `FluentEdge sandbox ready in ${((Date.now() - started) / 1000).toFixed(1)} s${reset ? ' (reset)' : ''}`,
    '',
    `  Temporal Web UI   ${e.temporal.uiUrl}`,
    `  Temporal gRPC     ${e.temporal.address}`,
    `  ARM emulator      ${e.armUrl}   (CA ${rel(e.caFile)}, subscription ${e.subscriptionId})`,
    `  Sandbox admin     ${e.adminUrl}/mutations`,
    `  App ingress       ${e.ingress[e.app as string]}   (metrics: /metrics)`,
    `  LLM stubs         ${e.llmUrl}`,
    typeof e.prometheusUrl === 'string'
      ? `  Prometheus        ${e.prometheusUrl}   (scrapes the ingress /metrics every 1 s)`
      : '  Prometheus        absent: no `prometheus` on PATH (or PROMETHEUS_PATH); analysis provider `probe` still works (apt-get install prometheus)',
    `  Endpoints         ${rel(sandbox.endpointsFile)}`,
    `  Logs              ${rel(path.join(sandboxDir, 'worker.log'))}, temporal.log, revisions/`,
    '',
    'Try:',
    `  npx runbook start healthCheck --input '{"app":"fluentedge-backend"}' --wait`,
    '  npx runbook list --kind healthCheck',
    `  curl -s ${e.ingress[e.app as string]}/health`,
    '',
    'Ctrl-C stops everything; the next start reuses the state (--reset starts clean).',
    '',
  ];
  process.stdout.write(lines.join('\n'));

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    await sandbox.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  sandbox.worker?.on('exit', (code) => {
    if (!stopping) log.error('worker exited; sandbox keeps running without it', { code });
  });
}

main().catch((err) => {
  process.stderr.write(`sandbox failed to start: ${err?.stack ?? err}\n`);
  process.exit(1);
});
