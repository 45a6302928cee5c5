import type { Client } from '@temporalio/client';
import type { LockRequest } from '../workflows/resourceLock';

// Temporal itself as an external system: starting the per-resource lock workflow needs
// signal-with-start, which a workflow cannot do on its own.

export function createTemporalActivities(deps: { client: Client; taskQueue: string }) {
  return {
    /** Idempotency key: the request token (the lock ignores a token it already has). */
    async requestLock(input: LockRequest & { resource: string }): Promise<void> {
      const { resource, ...req } = input;
      await deps.client.workflow.signalWithStart('resourceLock', {
        workflowId: `lock-${resource}`,
        taskQueue: deps.taskQueue,
        args: [resource],
        signal: 'acquire',
        signalArgs: [req],
        staticSummary: `Lock on ${resource}`,
      });
    },
    /** Read-only: is the lock holder still running? */
    async workflowOpen(input: { workflowId: string }): Promise<boolean> {
      try {
        const desc = await deps.client.workflow.getHandle(input.workflowId).describe();
        return desc.status.name === 'RUNNING';
      } catch (err) {
        if ((err as Error).name === 'WorkflowNotFoundError') return false;
        throw err;
      }
    },
  };
}
