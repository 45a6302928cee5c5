import { existsSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { DefaultLogger, type LogLevel, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { type Activities, createActivities } from './activities';
import { createAzureClients } from './activities/azure';
import { type Config, loadConfigOrExit } from './config';
import { createLogger } from './log';

// Registers every runbook and its activities on the task queue. Built (`npm run build` → `npm
// start`) it loads the prebundled workflows; in development and tests it bundles from source.

export interface WorkerOptions {
  config: Config;
  connection?: NativeConnection;
  activities?: Activities;
  /** Override for tests that reuse one bundle. */
  workflowBundlePath?: string;
}

export const bundlePath = path.resolve(__dirname, '..', 'dist', 'workflow-bundle.js');

function workflowSource(
  override?: string,
): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  if (override) return { workflowBundle: { codePath: override } };
  // Running from dist/ means a build happened; from src/ we always bundle fresh source.
  if (__filename.endsWith('.js') && existsSync(bundlePath))
    return { workflowBundle: { codePath: bundlePath } };
  return { workflowsPath: require.resolve('./workflows') };
}

export async function createWorker(opts: WorkerOptions): Promise<Worker> {
  const { config } = opts;
  const connection =
    opts.connection ??
    (await NativeConnection.connect({
      address: config.temporal.address,
      tls: config.temporal.tls,
      ...(config.temporal.apiKey ? { apiKey: config.temporal.apiKey } : {}),
    }));
  // Activities that start or inspect workflows (the resource lock) share the worker's connection.
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  const activities =
    opts.activities ?? createActivities({ config, azure: createAzureClients(config), temporal });
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities,
    ...workflowSource(opts.workflowBundlePath),
  });
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const log = createLogger('worker', config.logLevel);
  Runtime.install({
    logger: new DefaultLogger(config.logLevel.toUpperCase() as LogLevel, (entry) => {
      const lvl = entry.level.toLowerCase() as 'debug' | 'info' | 'warn' | 'error';
      if (lvl in log) log[lvl](entry.message, entry.meta);
    }),
  });
  const worker = await createWorker({ config });
  log.info('worker started', {
    taskQueue: config.temporal.taskQueue,
    namespace: config.temporal.namespace,
    temporal: config.temporal.address,
    target: config.target,
    arm: config.azure.endpoint,
  });
  // Worker.run() drains in-flight activities on SIGINT/SIGTERM (its default shutdownSignals).
  await worker.run();
  log.info('worker stopped');
}

if (require.main === module) {
  main().catch((err) => {
    createLogger('worker').error('worker failed', { error: String(err?.stack ?? err) });
    process.exit(1);
  });
}
