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

/** Locks asked for by one run: `held` settles when all are granted (or one is refused). */
export interface Lease {
  held: Promise<void>;
  /** Gives back every lock asked for, granted or still queued. */
  release(): Promise<void>;
}

/**
 * Asks for `resources` one after another, in the order given (callers sort them, so two runs
 * never wait on each other crosswise), starting now: a runbook may ask while its read-only
 * preflight runs and await `held` only before its first mutation.
 */
export function lockAll(
  resources: string[],
  mode: 'wait' | 'fail',
  onWait: (resource: string) => void,
): Lease {
  const asked: string[] = [];
  const granted = new Set<string>();
  let denied: LockDenial | undefined;
  setHandler(lockGrantedSignal, (g) => {
    granted.add(g.token);
  });
  setHandler(lockDeniedSignal, (d) => {
    denied ??= d;
  });
  const held = (async () => {
    for (const resource of resources) {
      const token = uuid4();
      asked.push(token);
      await requestLock({ resource, requester: workflowInfo().workflowId, token, mode });
      if (!(await condition(() => granted.has(token) || !!denied, '5s'))) onWait(resource);
      await condition(() => granted.has(token) || !!denied);
      if (denied) {
        throw ApplicationFailure.nonRetryable(
          `${denied.resource} is locked by ${denied.holder}`,
          'ResourceLocked',
          denied,
        );
      }
    }
  })();
  // Awaited by the caller when it needs the locks; a refusal before then is not unhandled.
  held.catch(() => undefined);
  const release = () =>
    CancellationScope.nonCancellable(async () => {
      for (const [i, token] of asked.entries()) {
        const signal = getExternalWorkflowHandle(lockWorkflowId(resources[i]!)).signal(releaseSignal, {
          token,
        });
        // A lock never granted may have ended already (idle lock workflows finish); nothing to give back.
        await (granted.has(token) ? signal : signal.catch(() => undefined));
      }
    });
  return { held, release };
}

export async function withLock<T>(
  resource: string,
  mode: 'wait' | 'fail',
  onWait: (holderHint: string) => void,
  fn: () => Promise<T>,
): Promise<T> {
  const lease = lockAll([resource], mode, onWait);
  await lease.held;
  try {
    return await fn();
  } finally {
    await lease.release();
  }
}
