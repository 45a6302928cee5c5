import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineSignal,
  defineUpdate,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';

// One workflow per locked resource (id `lock-<resource>`), granting it to one runbook at a time
// in arrival order. A holder that dies without releasing (terminated, timed out) is detected by
// a periodic liveness check, so a crashed deploy cannot block the next one forever.

export interface LockRequest {
  requester: string;
  token: string;
  mode: 'wait' | 'fail';
}
export interface LockGrant {
  resource: string;
  token: string;
}
export interface LockDenial {
  resource: string;
  holder: string;
}

/** What an `acquireNow` request gets at once; `queued` is granted later by lockGranted. */
export type LockAnswer = { granted: true } | { queued: true } | { denied: LockDenial };

export const acquireSignal = defineSignal<[LockRequest]>('acquire');
/** `acquire` answered in the same round trip, so a free lock costs the asker no signal. */
export const acquireNowUpdate = defineUpdate<LockAnswer, [LockRequest]>('acquireNow');
export const releaseSignal = defineSignal<[{ token: string }]>('release');
export const lockGrantedSignal = defineSignal<[LockGrant]>('lockGranted');
export const lockDeniedSignal = defineSignal<[LockDenial]>('lockDenied');

const { workflowOpen } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 3 },
});

export interface LockState {
  holder?: LockRequest;
  queue: LockRequest[];
}

export async function resourceLock(resource: string, carried: LockState = { queue: [] }): Promise<void> {
  let holder = carried.holder;
  const queue = [...carried.queue];
  // Who a `fail` request is refused for: the holder, else the first in line.
  const denial = (): LockDenial => ({ resource, holder: holder?.requester ?? queue[0]!.requester });
  setHandler(
    acquireSignal,
    (req) => {
      if (holder?.token === req.token || queue.some((q) => q.token === req.token)) return; // retried request
      if (req.mode === 'fail' && (holder || queue.length > 0)) {
        void getExternalWorkflowHandle(req.requester)
          .signal(lockDeniedSignal, denial())
          .catch(() => undefined);
        return;
      }
      queue.push(req);
    },
    { description: 'Ask for the lock: {requester, token, mode}' },
  );
  setHandler(
    acquireNowUpdate,
    (req): LockAnswer => {
      if (holder?.token === req.token) return { granted: true }; // retried request
      if (queue.some((q) => q.token === req.token)) return { queued: true };
      if (!holder && queue.length === 0) {
        holder = req;
        return { granted: true };
      }
      if (req.mode === 'fail') return { denied: denial() };
      queue.push(req);
      return { queued: true };
    },
    {
      description: 'Ask for the lock and hear at once: {requester, token, mode} → granted | queued | denied',
    },
  );
  setHandler(
    releaseSignal,
    ({ token }) => {
      if (holder?.token === token) holder = undefined;
      const i = queue.findIndex((q) => q.token === token);
      if (i >= 0) queue.splice(i, 1);
    },
    { description: 'Give the lock back: {token}' },
  );

  for (;;) {
    if (!holder && queue.length > 0) {
      holder = queue.shift()!;
      const granted = holder;
      await getExternalWorkflowHandle(granted.requester)
        .signal(lockGrantedSignal, { resource, token: granted.token })
        .catch(() => {
          // The requester is gone; the liveness check below frees the lock.
        });
    }
    if (holder) {
      const current = holder;
      const released = await condition(() => holder !== current, '2m');
      if (!released && !(await workflowOpen({ workflowId: current.requester }))) holder = undefined;
    } else {
      // A holder can also appear without a queue: granted directly by acquireNow.
      const more = await condition(() => queue.length > 0 || holder !== undefined, '1m');
      if (!more && allHandlersFinished() && queue.length === 0 && !holder) return;
    }
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof resourceLock>(resource, { ...(holder ? { holder } : {}), queue });
    }
  }
}
