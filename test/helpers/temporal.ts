import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { searchAttributeKeys } from '../../src/domain/searchAttributes';
import { temporalCli, temporalTestServer } from '../../src/sandbox/tools';

/** The real dev server binary, our search attributes registered. */
export function localEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCli() },
      searchAttributes: searchAttributeKeys,
      ip: '127.0.0.1',
    },
  });
}

/** The Java time-skipping server, for long timers. */
export function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: temporalTestServer() } },
  });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Bundle the workflows once per test process. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: path.resolve(__dirname, '../../src/workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
  });
  return bundle;
}
