import type { ContainerAppsAPIClient } from '@azure/arm-appcontainers';
import { type Client, WithStartWorkflowOperation } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  type DrillResult,
  type DrillTrendEntry,
  type KnownGoodSpec,
  specKey,
  toKnownGoodSpec,
} from '../domain/restore';
import type { LockAnswer, LockDenial, LockRequest, resourceLock } from '../workflows/resourceLock';
import { arm } from './arm';

// Temporal itself as an external system: starting the per-resource lock workflow needs
// signal-with-start (or update-with-start), which a workflow cannot do on its own.

/** The lock workflow of a resource (the id workflows/lib/lock.ts knows it by). */
const lockId = (resource: string) => `lock-${resource}`;

export function createTemporalActivities(deps: {
  client: Client;
  taskQueue: string;
  /** For recordKnownGoodSpec (DR); optional so lock-only callers need not pass it. */
  containerApps?: ContainerAppsAPIClient;
}) {
  return {
    /** Idempotency key: the request token (the lock ignores a token it already has). */
    async requestLock(input: LockRequest & { resource: string }): Promise<void> {
      const { resource, ...req } = input;
      await deps.client.workflow.signalWithStart('resourceLock', {
        workflowId: lockId(resource),
        taskQueue: deps.taskQueue,
        args: [resource],
        signal: 'acquire',
        signalArgs: [req],
        staticSummary: `Lock on ${resource}`,
      });
    },
    /**
     * As requestLock for several resources in order, each answered at once (update-with-start):
     * stops at the first lock that is queued (its lockGranted signal follows) or denied.
     * Idempotency key: each request's token (asked again, a lock answers for the request it
     * already has, and the server dedups the update by that id).
     */
    async acquireLocks(input: {
      resources: string[];
      tokens: string[];
      requester: string;
      mode: LockRequest['mode'];
    }): Promise<{ granted: string[]; queued?: string; denied?: LockDenial }> {
      const granted: string[] = [];
      for (const [i, resource] of input.resources.entries()) {
        const req: LockRequest = { requester: input.requester, token: input.tokens[i]!, mode: input.mode };
        const answer = await deps.client.workflow.executeUpdateWithStart<
          typeof resourceLock,
          LockAnswer,
          [LockRequest]
        >('acquireNow', {
          args: [req],
          updateId: req.token,
          startWorkflowOperation: new WithStartWorkflowOperation<typeof resourceLock>('resourceLock', {
            workflowId: lockId(resource),
            taskQueue: deps.taskQueue,
            args: [resource],
            workflowIdConflictPolicy: 'USE_EXISTING',
            staticSummary: `Lock on ${resource}`,
          }),
        });
        if ('queued' in answer) return { granted, queued: req.token };
        if ('denied' in answer) return { granted, denied: answer.denied };
        granted.push(req.token);
      }
      return { granted };
    },
    /**
     * Gives locks back (the `release` signal per resource). Idempotency key: the token (a lock
     * ignores a token it does not hold or queue); a lock workflow that ended holds nothing.
     */
    async releaseLocks(input: { resources: string[]; tokens: string[] }): Promise<void> {
      for (const [i, resource] of input.resources.entries()) {
        try {
          await deps.client.workflow
            .getHandle(lockId(resource))
            .signal('release', { token: input.tokens[i]! });
        } catch (err) {
          if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
        }
      }
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

    // ---- DR runbooks: known-good app specs (spec registry) and drill history (appended) ----

    /**
     * GETs the app and records its redeployable spec (no secret values) in the `spec-registry`
     * workflow, started if needed. Call after a successful promotion. Idempotency key: the spec
     * itself (recording the same spec twice leaves one entry).
     */
    async recordKnownGoodSpec(input: { resourceGroup: string; app: string }): Promise<KnownGoodSpec> {
      const ca = deps.containerApps;
      if (!ca) throw ApplicationFailure.nonRetryable('no container apps client configured', 'NotConfigured');
      const app = await arm(`get container app ${input.app}`, () =>
        ca.containerApps.get(input.resourceGroup, input.app),
      );
      const spec = toKnownGoodSpec(app as unknown as Record<string, unknown>);
      const image = (spec.template['containers'] as { image?: string }[] | undefined)?.[0]?.image;
      const entry: KnownGoodSpec = {
        resourceGroup: input.resourceGroup,
        app: input.app,
        recordedAt: new Date().toISOString(),
        ...(image ? { image } : {}),
        spec,
      };
      await deps.client.workflow.signalWithStart('specRegistry', {
        workflowId: specRegistryId,
        taskQueue: deps.taskQueue,
        args: [{}],
        signal: 'record',
        signalArgs: [entry],
        staticSummary: 'Last known-good container app specs (DR)',
      });
      return entry;
    },

    /** Read-only: the registry's last known-good spec of an app, or null. */
    async readKnownGoodSpec(input: { resourceGroup: string; app: string }): Promise<KnownGoodSpec | null> {
      try {
        const h = deps.client.workflow.getHandle(specRegistryId);
        return (
          (await h.query<KnownGoodSpec | null, [string]>('get', specKey(input.resourceGroup, input.app))) ??
          null
        );
      } catch (err) {
        if ((err as Error).name === 'WorkflowNotFoundError') return null;
        throw err;
      }
    },

    /** Read-only: earlier completed drills of a server, newest first, from visibility + results. */
    async listDrills(input: {
      sourceServer: string;
      limit: number;
      exclude?: string;
    }): Promise<DrillTrendEntry[]> {
      const out: DrillTrendEntry[] = [];
      if (input.limit <= 0) return out;
      const query = `RunbookKind = 'drDrill' AND RunbookTarget = '${input.sourceServer.replace(/'/g, '')}' AND ExecutionStatus = 'Completed'`;
      for await (const wf of deps.client.workflow.list({ query, pageSize: input.limit + 1 })) {
        if (wf.workflowId === input.exclude) continue;
        const r = (await deps.client.workflow
          .getHandle(wf.workflowId, wf.runId)
          .result()
          .catch(() => undefined)) as DrillResult | undefined;
        if (!r || r.outcome === 'planned') continue;
        out.push({
          workflowId: wf.workflowId,
          startedAt: wf.startTime.toISOString(),
          outcome: r.outcome,
          ...(r.recovery ? { rtoMs: r.recovery.rto.ms, rpoMs: r.recovery.rpo.ms, met: r.recovery.met } : {}),
        });
        if (out.length >= input.limit) break;
      }
      return out.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
    },
  };
}

/** The one registry of last known-good app specs. */
export const specRegistryId = 'spec-registry';
