import {
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { type LockDenial, lockDeniedSignal, lockGrantedSignal, releaseSignal } from '../resourceLock';

// Per-resource lock shared by every runbook that changes one app or server, so a deploy, a
// migration and a restore of the same target never overlap.

const { requestLock } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 5 },
});

export const lockWorkflowId = (resource: string) => `lock-${resource}`;

export async function withLock<T>(
  resource: string,
  mode: 'wait' | 'fail',
  onWait: (holderHint: string) => void,
  fn: () => Promise<T>,
): Promise<T> {
  const token = uuid4();
  let granted = false;
  let denied: LockDenial | undefined;
  setHandler(lockGrantedSignal, (g) => {
    if (g.token === token) granted = true;
  });
  setHandler(lockDeniedSignal, (d) => {
    denied = d;
  });
  await requestLock({ resource, requester: workflowInfo().workflowId, token, mode });
  if (!(await condition(() => granted || !!denied, '5s'))) onWait(resource);
  await condition(() => granted || !!denied);
  if (denied) {
    throw ApplicationFailure.nonRetryable(
      `${resource} is locked by ${denied.holder}`,
      'ResourceLocked',
      denied,
    );
  }
  try {
    return await fn();
  } finally {
    await CancellationScope.nonCancellable(() =>
      getExternalWorkflowHandle(lockWorkflowId(resource)).signal(releaseSignal, { token }),
    );
  }
}
