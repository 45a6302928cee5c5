import type { ContainerApp, ContainerAppsAPIClient, Revision } from '@azure/arm-appcontainers';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Weights } from '../domain/canary';
import type { AppView, RevisionView } from '../domain/healthCheck';
import { arm, isNotFound } from './arm';

// Microsoft.App through the real SDK client; the same code talks to Azure and to the sandbox
// emulator, which differ only in endpoint, CA and credential (see azure.ts). Every mutating
// activity checks before it acts and names its idempotency key, so a retry after a crash
// repeats no mutation.

export interface ContainerAppsDeps {
  client: ContainerAppsAPIClient;
  /** Azure serves ingress over https; the sandbox's loopback ingress is http. */
  urlScheme: 'http' | 'https';
  /** How often to poll revision state while waiting (ms). */
  pollMs?: number;
}

export interface AppRef {
  resourceGroup: string;
  app: string;
}

function url(scheme: string, fqdn: string | undefined): string | undefined {
  return fqdn ? `${scheme}://${fqdn}` : undefined;
}

function revisionView(r: Revision, scheme: string): RevisionView {
  const image = r.template?.containers?.[0]?.image;
  const view: RevisionView = {
    name: r.name ?? '?',
    active: r.active ?? false,
    trafficWeight: r.trafficWeight ?? 0,
  };
  if (r.runningState) view.runningState = r.runningState;
  if (r.healthState) view.healthState = r.healthState;
  if (r.provisioningState) view.provisioningState = r.provisioningState;
  if (image) view.image = image;
  const u = url(scheme, r.fqdn);
  if (u) view.url = u;
  return view;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Weights as the ingress applies them, by revision name, zeros dropped. */
export function currentWeights(revisions: RevisionView[]): Weights {
  return Object.fromEntries(
    revisions.filter((r) => r.active && r.trafficWeight > 0).map((r) => [r.name, r.trafficWeight]),
  );
}

function sameWeights(a: Weights, b: Weights): boolean {
  const ka = Object.keys(a).filter((k) => (a[k] ?? 0) > 0);
  const kb = Object.keys(b).filter((k) => (b[k] ?? 0) > 0);
  return ka.length === kb.length && ka.every((k) => a[k] === b[k]);
}

export function createContainerAppsActivities({ client, urlScheme, pollMs = 1000 }: ContainerAppsDeps) {
  const poll = { updateIntervalInMs: Math.min(pollMs, 1000) };

  async function getApp({ resourceGroup, app }: AppRef): Promise<ContainerApp> {
    return arm(`get container app ${app}`, () => client.containerApps.get(resourceGroup, app));
  }

  async function listRevisions({ resourceGroup, app }: AppRef): Promise<RevisionView[]> {
    return arm(`list revisions of ${app}`, async () => {
      const out: RevisionView[] = [];
      for await (const r of client.containerAppsRevisions.listRevisions(resourceGroup, app))
        out.push(revisionView(r, urlScheme));
      return out;
    });
  }

  async function getRevision(
    { resourceGroup, app }: AppRef,
    revision: string,
  ): Promise<RevisionView | undefined> {
    try {
      return revisionView(
        await client.containerAppsRevisions.getRevision(resourceGroup, app, revision),
        urlScheme,
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      return arm(`get revision ${revision}`, () => Promise.reject(err));
    }
  }

  async function patch(
    ref: AppRef,
    what: string,
    body: (current: ContainerApp) => ContainerApp,
  ): Promise<void> {
    const current = await getApp(ref);
    await arm(what, () =>
      client.containerApps.beginUpdateAndWait(ref.resourceGroup, ref.app, body(current), poll),
    );
  }

  async function waitReady(ref: AppRef, revision: string, timeoutMs: number): Promise<RevisionView> {
    const ctx = safeContext();
    const started = Date.now();
    let polls = (ctx?.info.heartbeatDetails as { polls?: number } | undefined)?.polls ?? 0;
    for (;;) {
      const rev = await getRevision(ref, revision);
      polls++;
      ctx?.heartbeat({
        polls,
        state: rev ? `${rev.provisioningState}/${rev.runningState}/${rev.healthState}` : 'absent',
      });
      if (rev?.provisioningState === 'Failed' || rev?.runningState === 'Failed') {
        throw ApplicationFailure.nonRetryable(
          `revision ${revision} failed: ${rev.provisioningState}/${rev.runningState}`,
          'RevisionFailed',
        );
      }
      if (rev?.active && rev.runningState === 'Running' && rev.healthState === 'Healthy') return rev;
      if (Date.now() - started > timeoutMs) {
        throw ApplicationFailure.nonRetryable(
          `revision ${revision} not healthy after ${Math.round(timeoutMs / 1000)} s (last: ${rev ? `${rev.runningState}/${rev.healthState}` : 'absent'})`,
          'RevisionNotReady',
        );
      }
      await sleep(pollMs);
    }
  }

  return {
    /** Read-only: the app and all its revisions, as the runbooks reason about them. */
    async readApp(ref: AppRef): Promise<AppView> {
      const doc = await getApp(ref);
      const revisions = await listRevisions(ref);
      const view: AppView = {
        name: doc.name ?? ref.app,
        resourceGroup: ref.resourceGroup,
        revisionMode: doc.configuration?.activeRevisionsMode ?? 'Single',
        revisions,
      };
      if (doc.latestRevisionName) view.latestRevisionName = doc.latestRevisionName;
      if (doc.provisioningState) view.provisioningState = doc.provisioningState;
      const ingress = url(urlScheme, doc.configuration?.ingress?.fqdn);
      if (ingress) view.ingressUrl = ingress;
      return view;
    },

    /**
     * Multiple revision mode, traffic pinned by revision name, so a new revision gets nothing
     * until we say so. Idempotency key: (app, mode=Multiple, weights) — a no-op when already so.
     */
    async prepareMultipleMode(
      input: AppRef & { weights: Weights },
    ): Promise<{ changedMode: boolean; previousMode: string }> {
      const current = await getApp(input);
      const previousMode = current.configuration?.activeRevisionsMode ?? 'Single';
      const pinned = (current.configuration?.ingress?.traffic ?? []).every(
        (t) => t.revisionName && !t.latestRevision,
      );
      if (previousMode === 'Multiple' && pinned) return { changedMode: false, previousMode };
      await patch(input, `switch ${input.app} to Multiple mode`, (app) => ({
        location: app.location,
        configuration: {
          activeRevisionsMode: 'Multiple',
          ingress: {
            ...app.configuration?.ingress,
            traffic: Object.entries(input.weights).map(([revisionName, weight]) => ({
              revisionName,
              weight,
            })),
          },
        },
      }));
      return { changedMode: previousMode !== 'Multiple', previousMode };
    },

    /**
     * New revision with `image`. Idempotency key: the revision suffix (derived from the image tag
     * and the workflow id): an existing `<app>--<suffix>` is returned, never created twice.
     */
    async deployRevision(
      input: AppRef & { image: string; suffix: string },
    ): Promise<{ revision: string; created: boolean }> {
      const revision = `${input.app}--${input.suffix}`;
      if (await getRevision(input, revision)) return { revision, created: false };
      try {
        await patch(input, `deploy ${input.image} as ${revision}`, (app) => {
          const containers = app.template?.containers ?? [];
          if (containers.length === 0)
            throw ApplicationFailure.nonRetryable(`${input.app} has no containers`, 'NoContainers');
          return {
            location: app.location,
            template: {
              ...app.template,
              revisionSuffix: input.suffix,
              containers: containers.map((c, i) => (i === 0 ? { ...c, image: input.image } : c)),
            },
          };
        });
      } catch (err) {
        // A crash between ARM accepting the PATCH and us recording it: the revision is there.
        if (
          (err as { type?: string }).type === 'ContainerAppRevisionAlreadyExists' &&
          (await getRevision(input, revision))
        ) {
          return { revision, created: false };
        }
        throw err;
      }
      return { revision, created: true };
    },

    /** Heartbeats while the revision provisions; fails fast when ARM reports it Failed. */
    async waitRevisionReady(input: AppRef & { revision: string; timeoutMs?: number }): Promise<RevisionView> {
      return waitReady(input, input.revision, input.timeoutMs ?? 10 * 60_000);
    },

    /** Idempotency key: the target weights (setting a value twice is a no-op). */
    async setTraffic(input: AppRef & { weights: Weights }): Promise<{ changed: boolean; weights: Weights }> {
      const total = Object.values(input.weights).reduce((a, b) => a + b, 0);
      if (total !== 100)
        throw ApplicationFailure.nonRetryable(`weights must total 100, got ${total}`, 'InvalidWeights');
      const before = currentWeights(await listRevisions(input));
      if (sameWeights(before, input.weights)) return { changed: false, weights: before };
      await patch(input, `set traffic of ${input.app}`, (app) => ({
        location: app.location,
        configuration: {
          ingress: {
            ...app.configuration?.ingress,
            traffic: Object.entries(input.weights)
              .filter(([, w]) => w > 0)
              .map(([revisionName, weight]) => ({ revisionName, weight })),
          },
        },
      }));
      return { changed: true, weights: input.weights };
    },

    /** Idempotency key: (revision, active=false). */
    async deactivateRevision(input: AppRef & { revision: string }): Promise<{ changed: boolean }> {
      const rev = await getRevision(input, input.revision);
      if (!rev?.active) return { changed: false };
      await arm(`deactivate ${input.revision}`, () =>
        client.containerAppsRevisions.deactivateRevision(input.resourceGroup, input.app, input.revision),
      );
      return { changed: true };
    },

    /**
     * Back to stable in one activity (abort, rollback): stable active and healthy, 100% on it,
     * canary deactivated. Idempotency key: (stable=100, canary inactive); each part checks first.
     */
    async restoreStable(input: AppRef & { stable: string; canary: string }): Promise<{ changed: string[] }> {
      const changed: string[] = [];
      const stable = await getRevision(input, input.stable);
      if (!stable)
        throw ApplicationFailure.nonRetryable(`stable revision ${input.stable} is gone`, 'StableMissing');
      if (!stable.active) {
        await arm(`activate ${input.stable}`, () =>
          client.containerAppsRevisions.activateRevision(input.resourceGroup, input.app, input.stable),
        );
        changed.push(`activated ${input.stable}`);
        await waitReady(input, input.stable, 5 * 60_000);
      }
      const weights = currentWeights(await listRevisions(input));
      if (!sameWeights(weights, { [input.stable]: 100 })) {
        await patch(input, `restore traffic of ${input.app} to ${input.stable}`, (app) => ({
          location: app.location,
          configuration: {
            ingress: {
              ...app.configuration?.ingress,
              traffic: [{ revisionName: input.stable, weight: 100 }],
            },
          },
        }));
        changed.push(`100% → ${input.stable}`);
      }
      const canary = await getRevision(input, input.canary);
      if (canary?.active) {
        await arm(`deactivate ${input.canary}`, () =>
          client.containerAppsRevisions.deactivateRevision(input.resourceGroup, input.app, input.canary),
        );
        changed.push(`deactivated ${input.canary}`);
      }
      return { changed };
    },
  };
}

/** Activities also run outside an activity context in scripts and benches. */
function safeContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}
