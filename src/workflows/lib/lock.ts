import {
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { type LockDenial, lockDeniedSignal, lockGrantedSignal, releaseSignal } from '../resourceLock';

// Per-resource lock shared by every runbook that changes one app or server, so a deploy, a
// migration and a restore of the same target never overlap.

const lockRequests = { startToCloseTimeout: '30s', retry: { maximumAttempts: 5 } } as const;
const requests = proxyActivities<Activities>(lockRequests);
// A local activity runs inside the workflow task that asks, instead of costing a task of its own.
const localRequests = proxyLocalActivities<Activities>(lockRequests);

export const lockWorkflowId = (resource: string) => `lock-${resource}`;

/** Locks asked for by one run: `held` settles when all are granted (or one is refused). */
export interface Lease {
  held: Promise<void>;
  /**
   * Gives back every lock asked for, granted or still queued; a second call sends nothing.
   * `now` (a lease asked for with `local`) gives them back through a local activity that
   * resolves in the caller's task instead of waiting a task for the signals' receipts: only
   * where no other local activity is pending, so it is issued together with the next ones.
   */
  release(opts?: { now?: boolean }): Promise<void>;
}

/**
 * Asks for `resources` one after another, in the order given (callers sort them, so two runs
 * never wait on each other crosswise), starting now: a runbook may ask while its read-only
 * preflight runs and await `held` only before its first mutation. `local` asks through one local
 * activity that hears the answers at once (histories recorded before a runbook chose that keep an
 * activity and a signal per lock).
 */
export function lockAll(
  resources: string[],
  mode: 'wait' | 'fail',
  onWait: (resource: string) => void,
  opts: { local?: boolean } = {},
): Lease {
  const { requestLock, acquireLocks } = opts.local ? localRequests : requests;
  const requester = workflowInfo().workflowId;
  const asked: string[] = [];
  const granted = new Set<string>();
  let denied: LockDenial | undefined;
  setHandler(lockGrantedSignal, (g) => {
    granted.add(g.token);
  });
  setHandler(lockDeniedSignal, (d) => {
    denied ??= d;
  });
  const grantOf = async (resource: string, token: string) => {
    if (!granted.has(token) && !denied) {
      if (!(await condition(() => granted.has(token) || !!denied, '5s'))) onWait(resource);
      await condition(() => granted.has(token) || !!denied);
    }
    if (denied) {
      throw ApplicationFailure.nonRetryable(
        `${denied.resource} is locked by ${denied.holder}`,
        'ResourceLocked',
        denied,
      );
    }
  };
  const oneByOne = async () => {
    for (const resource of resources) {
      const token = uuid4();
      asked.push(token);
      await requestLock({ resource, requester, token, mode });
      await grantOf(resource, token);
    }
  };
  // One local activity asks for every lock in order and hears at once which are granted; it
  // stops at the first that is not free, and only a queued one is waited for by signal. It is
  // issued together with the caller's other local activities and never after one of theirs
  // resolved: replay matches local-activity markers to commands in the order they were issued.
  const atOnce = async () => {
    const tokens = resources.map(() => uuid4());
    asked.push(...tokens);
    for (let next = 0; next < resources.length; ) {
      const answer = await acquireLocks({
        resources: resources.slice(next),
        tokens: tokens.slice(next),
        requester,
        mode,
      });
      for (const t of answer.granted) granted.add(t);
      next += answer.granted.length;
      if (answer.denied) denied ??= answer.denied;
      if (next < resources.length) await grantOf(resources[next]!, tokens[next]!);
      if (answer.queued) next++;
    }
  };
  const held = opts.local ? atOnce() : oneByOne();
  // Awaited by the caller when it needs the locks; a refusal before then is not unhandled.
  held.catch(() => undefined);
  let released: Promise<void> | undefined;
  const release = (o: { now?: boolean } = {}) => {
    if (!released && o.now && opts.local) {
      released = CancellationScope.nonCancellable(() =>
        localRequests.releaseLocks({ resources: resources.slice(0, asked.length), tokens: asked }),
      );
    }
    released ??= CancellationScope.nonCancellable(async () => {
      for (const [i, token] of asked.entries()) {
        const signal = getExternalWorkflowHandle(lockWorkflowId(resources[i]!)).signal(releaseSignal, {
          token,
        });
        // A lock never granted may have ended already (idle lock workflows finish); nothing to give back.
        await (granted.has(token) ? signal : signal.catch(() => undefined));
      }
    });
    return released;
  };
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
