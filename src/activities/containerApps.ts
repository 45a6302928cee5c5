import type { ContainerApp, ContainerAppsAPIClient, Revision } from '@azure/arm-appcontainers';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Weights } from '../domain/canary';
import { type AppView, type HealthBody, healthBody, type RevisionView } from '../domain/healthCheck';
import { type DatabaseUrlRef, retargetUrl, urlHostPort } from '../domain/restore';
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
      const existing = await getRevision(input, revision);
      if (existing) {
        // A re-run of the same workflow id finds its earlier revision, possibly deactivated.
        if (!existing.active) {
          await arm(`activate ${revision}`, () =>
            client.containerAppsRevisions.activateRevision(input.resourceGroup, input.app, revision),
          );
        }
        return { revision, created: false };
      }
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

    // ---- DR runbooks (pointInTimeRestore, fullOutageRecovery): appended block, see drActivities ----
    ...drActivities({ client, urlScheme, pollMs, getApp, listRevisions, getRevision, patch, waitReady }),
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

// ================================================================================================
// DR runbooks: DATABASE_URL cutover, app start, revision activation/restart, health on a given
// database server. Appended as one block so the canary activities above stay untouched.
// ================================================================================================

interface DrHelpers {
  client: ContainerAppsAPIClient;
  urlScheme: 'http' | 'https';
  pollMs: number;
  getApp(ref: AppRef): Promise<ContainerApp>;
  listRevisions(ref: AppRef): Promise<RevisionView[]>;
  getRevision(ref: AppRef, revision: string): Promise<RevisionView | undefined>;
  patch(ref: AppRef, what: string, body: (current: ContainerApp) => ContainerApp): Promise<void>;
  waitReady(ref: AppRef, revision: string, timeoutMs: number): Promise<RevisionView>;
}

/** One /health answer, reduced to what a DR step judges (never a URL with credentials). */
export interface DbProbe {
  target: string;
  httpStatus?: number;
  status?: string;
  database?: { status: string; server?: string; error?: string };
  error?: string;
}

async function probeDb(target: string, url: string, timeoutMs = 5000): Promise<DbProbe> {
  try {
    const res = await fetch(`${url.replace(/\/$/, '')}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let body: HealthBody | undefined;
    try {
      const parsed = healthBody.safeParse(JSON.parse(text));
      if (parsed.success) body = parsed.data;
    } catch {
      // not JSON: judged below
    }
    const p: DbProbe = { target, httpStatus: res.status };
    if (body?.status) p.status = body.status;
    if (body?.database) {
      p.database = { status: body.database.status };
      if (body.database.server) p.database.server = body.database.server;
      if (body.database.error) p.database.error = body.database.error;
    }
    return p;
  } catch (err) {
    return { target, error: (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name };
  }
}

/** On `host:port`: /health 200 with the database ok, and on that server when /health names it. */
export function onServer(p: DbProbe, hostPort: string): boolean {
  if (p.httpStatus !== 200 || p.database?.status !== 'ok') return false;
  const server = p.database.server;
  return !hostPort || !server || server === hostPort || server.startsWith(`${hostPort}/`);
}

function firstContainerEnv(app: ContainerApp, name: string) {
  return app.template?.containers?.[0]?.env?.find((e) => e.name === name);
}

export function drActivities(h: DrHelpers) {
  const { client } = h;
  const url = (fqdn: string | undefined) => (fqdn ? `${h.urlScheme}://${fqdn}` : undefined);

  async function secretValues(
    ref: AppRef,
  ): Promise<{ name: string; value?: string; keyVaultUrl?: string; identity?: string }[]> {
    const r = await arm(`list secrets of ${ref.app}`, () =>
      client.containerApps.listSecrets(ref.resourceGroup, ref.app),
    );
    return (r.value ?? []).map((s) => ({
      name: s.name ?? '',
      ...(s.value !== undefined ? { value: s.value } : {}),
      ...(s.keyVaultUrl ? { keyVaultUrl: s.keyVaultUrl } : {}),
      ...(s.identity ? { identity: s.identity } : {}),
    }));
  }

  /** The current DATABASE_URL of an app (inside activities only) and where it points. */
  async function currentUrl(ref: AppRef, dbRef: DatabaseUrlRef): Promise<{ value: string; host: string }> {
    let value: string | undefined;
    if ('secretRef' in dbRef) {
      const secret = (await secretValues(ref)).find((s) => s.name === dbRef.secretRef);
      if (!secret)
        throw ApplicationFailure.nonRetryable(`${ref.app} has no secret ${dbRef.secretRef}`, 'NoSuchSecret');
      if (secret.keyVaultUrl && !secret.value)
        throw ApplicationFailure.nonRetryable(
          `${ref.app} secret ${dbRef.secretRef} is a Key Vault reference; change it in Key Vault`,
          'KeyVaultSecret',
        );
      value = secret.value;
    } else {
      const env = firstContainerEnv(await h.getApp(ref), dbRef.envVar);
      if (!env)
        throw ApplicationFailure.nonRetryable(`${ref.app} has no env var ${dbRef.envVar}`, 'NoSuchEnvVar');
      if (env.secretRef)
        throw ApplicationFailure.nonRetryable(
          `${ref.app} env var ${dbRef.envVar} comes from secret ${env.secretRef}; use {secretRef: "${env.secretRef}"}`,
          'EnvVarIsSecret',
        );
      value = env.value;
    }
    const host = value ? urlHostPort(value) : undefined;
    if (!value || !host)
      throw ApplicationFailure.nonRetryable(
        `${ref.app}'s DATABASE_URL is not a postgres URL`,
        'BadDatabaseUrl',
      );
    return { value, host };
  }

  async function serving(ref: AppRef): Promise<RevisionView[]> {
    return (await h.listRevisions(ref)).filter((r) => r.active && r.trafficWeight > 0);
  }

  return {
    /** Read-only: where an app's DATABASE_URL points (`host:port`), and its serving revisions. */
    async inspectDatabaseUrl(
      input: AppRef & { ref: DatabaseUrlRef },
    ): Promise<{ host: string; serving: string[]; revisionMode: string }> {
      const { host } = await currentUrl(input, input.ref);
      const app = await h.getApp(input);
      return {
        host,
        serving: (await serving(input)).map((r) => r.name),
        revisionMode: app.configuration?.activeRevisionsMode ?? 'Single',
      };
    },

    /**
     * Points the app's DATABASE_URL from `fromHost` to `toHost` (same user, password, database:
     * only host:port change) and makes the running revisions use it. Idempotency key: (app, ref,
     * toHost): a URL already on `toHost` is not written again, and a revision whose /health
     * already reports `toHost` is not restarted again. A URL on neither host is refused untouched.
     *
     * secretRef: the secret is updated (no new revision), then every active revision restarted.
     * envVar: a new revision `<app>--<suffix>` with the new value; in Multiple mode it gets 100%
     * once ready and the previous serving revisions are deactivated.
     */
    async pointDatabaseUrl(
      input: AppRef & { ref: DatabaseUrlRef; fromHost: string; toHost: string; suffix: string },
    ): Promise<{ changed: boolean; restarted: string[]; revision?: string }> {
      const cur = await currentUrl(input, input.ref);
      if (cur.host !== input.toHost && cur.host !== input.fromHost) {
        throw ApplicationFailure.nonRetryable(
          `${input.app}'s DATABASE_URL points at ${cur.host}, neither ${input.fromHost} nor ${input.toHost}; not touching it`,
          'UnexpectedDatabaseUrl',
        );
      }
      const next = retargetUrl(cur.value, input.toHost);
      const ref = input.ref;
      if ('secretRef' in ref) {
        let changed = false;
        if (cur.host !== input.toHost) {
          const all = await secretValues(input);
          await h.patch(input, `point ${input.app} secret ${ref.secretRef} at ${input.toHost}`, (app) => ({
            location: app.location,
            configuration: {
              ...app.configuration,
              secrets: all.map((s) => (s.name === ref.secretRef ? { name: s.name, value: next } : s)),
            },
          }));
          changed = true;
        }
        const restarted: string[] = [];
        for (const rev of (await h.listRevisions(input)).filter((r) => r.active)) {
          const probe = rev.url ? await probeDb(rev.name, rev.url) : undefined;
          if (!changed && probe && onServer(probe, input.toHost)) continue;
          await arm(`restart ${rev.name}`, () =>
            client.containerAppsRevisions.restartRevision(input.resourceGroup, input.app, rev.name),
          );
          restarted.push(rev.name);
        }
        return { changed, restarted };
      }
      // envVar: revisions are immutable, so a new one carries the new value.
      const envVar = ref.envVar;
      const revision = `${input.app}--${input.suffix}`;
      const before = await serving(input);
      let changed = false;
      if (!(await h.getRevision(input, revision))) {
        await h.patch(input, `deploy ${revision} with ${envVar} on ${input.toHost}`, (app) => {
          const containers = app.template?.containers ?? [];
          return {
            location: app.location,
            template: {
              ...app.template,
              revisionSuffix: input.suffix,
              containers: containers.map((c, i) =>
                i === 0
                  ? {
                      ...c,
                      env: (c.env ?? []).map((e) => (e.name === envVar ? { name: e.name, value: next } : e)),
                    }
                  : c,
              ),
            },
          };
        });
        changed = true;
      }
      await h.waitReady(input, revision, 10 * 60_000);
      const app = await h.getApp(input);
      if ((app.configuration?.activeRevisionsMode ?? 'Single') === 'Multiple') {
        const weights = await serving(input);
        if (!(weights.length === 1 && weights[0]!.name === revision)) {
          await h.patch(input, `move traffic of ${input.app} to ${revision}`, (a) => ({
            location: a.location,
            configuration: {
              ingress: { ...a.configuration?.ingress, traffic: [{ revisionName: revision, weight: 100 }] },
            },
          }));
        }
        for (const old of before.filter((r) => r.name !== revision)) {
          const rev = await h.getRevision(input, old.name);
          if (rev?.active)
            await arm(`deactivate ${old.name}`, () =>
              client.containerAppsRevisions.deactivateRevision(input.resourceGroup, input.app, old.name),
            );
        }
      }
      return { changed, restarted: [], revision };
    },

    /**
     * Read-only: waits (heartbeating) until every serving revision and the ingress answer /health
     * 200 with the database ok on `expectHost`, or the timeout; never throws for what it sees.
     */
    async checkAppDatabase(
      input: AppRef & { expectHost: string; timeoutMs: number },
    ): Promise<{ ok: boolean; probes: DbProbe[]; waitedMs: number }> {
      const ctx = safeContext();
      const started = Date.now();
      for (;;) {
        const app = await h.getApp(input);
        const revs = await serving(input);
        const targets: [string, string | undefined][] = [
          ['ingress', url(app.configuration?.ingress?.fqdn)],
          ...revs.map((r): [string, string | undefined] => [r.name, r.url]),
        ];
        const probes = await Promise.all(
          targets.map(([name, u]) =>
            u ? probeDb(name, u) : Promise.resolve({ target: name, error: 'no URL' }),
          ),
        );
        const ok = revs.length > 0 && probes.every((p) => onServer(p, input.expectHost));
        const waitedMs = Date.now() - started;
        ctx?.heartbeat({ waitedMs, ok });
        if (ok || waitedMs >= input.timeoutMs) return { ok, probes, waitedMs };
        await sleep(Math.min(1000, h.pollMs));
      }
    },

    /** Read-only: an app's state as ARM reports it, or `exists: false`. */
    async appStatus(input: AppRef): Promise<{
      exists: boolean;
      provisioningState?: string;
      runningState?: string;
      revisionMode?: string;
      latestRevisionName?: string;
      revisions: RevisionView[];
    }> {
      let app: ContainerApp;
      try {
        app = await client.containerApps.get(input.resourceGroup, input.app);
      } catch (err) {
        if (isNotFound(err)) return { exists: false, revisions: [] };
        return arm(`get container app ${input.app}`, () => Promise.reject(err));
      }
      return {
        exists: true,
        ...(app.provisioningState ? { provisioningState: app.provisioningState } : {}),
        ...(app.runningStatus ? { runningState: app.runningStatus } : {}),
        revisionMode: app.configuration?.activeRevisionsMode ?? 'Single',
        ...(app.latestRevisionName ? { latestRevisionName: app.latestRevisionName } : {}),
        revisions: await h.listRevisions(input),
      };
    },

    /** Idempotency key: (app, running): a running app is not started again. */
    async startApp(input: AppRef): Promise<{ changed: boolean }> {
      const app = await h.getApp(input);
      if (app.runningStatus === 'Running') return { changed: false };
      await arm(`start ${input.app}`, () =>
        client.containerApps.beginStartAndWait(input.resourceGroup, input.app, {
          updateIntervalInMs: Math.min(h.pollMs, 1000),
        }),
      );
      return { changed: true };
    },

    /** Idempotency key: (revision, active): an active revision is left alone; waits until healthy. */
    async activateRevision(input: AppRef & { revision: string }): Promise<{ changed: boolean }> {
      const rev = await h.getRevision(input, input.revision);
      if (!rev)
        throw ApplicationFailure.nonRetryable(`revision ${input.revision} not found`, 'NoSuchRevision');
      if (rev.active) return { changed: false };
      await arm(`activate ${input.revision}`, () =>
        client.containerAppsRevisions.activateRevision(input.resourceGroup, input.app, input.revision),
      );
      await h.waitReady(input, input.revision, 5 * 60_000);
      return { changed: true };
    },

    /**
     * Restarts a revision whose /health fails. Idempotency key: (revision, healthy): a revision
     * that answers 200 now (e.g. restarted by an earlier attempt) is not restarted again.
     */
    async restartIfUnhealthy(
      input: AppRef & { revision: string },
    ): Promise<{ restarted: boolean; before: DbProbe }> {
      const rev = await h.getRevision(input, input.revision);
      if (!rev?.active)
        throw ApplicationFailure.nonRetryable(`revision ${input.revision} is not active`, 'RevisionInactive');
      const before = rev.url ? await probeDb(rev.name, rev.url) : { target: rev.name, error: 'no URL' };
      if (before.httpStatus === 200 && rev.runningState === 'Running') return { restarted: false, before };
      await arm(`restart ${input.revision}`, () =>
        client.containerAppsRevisions.restartRevision(input.resourceGroup, input.app, input.revision),
      );
      return { restarted: true, before };
    },
  };
}
