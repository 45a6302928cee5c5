import type { PostgreSQLManagementFlexibleServerClient, Server } from '@azure/arm-postgresql-flexible';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { type BackupInfo, hostPort, restoreTags } from '../domain/restore';
import { arm, isNotFound } from './arm';

// Microsoft.DBforPostgreSQL/flexibleServers through the real SDK client: read a server and its
// backups, restore one into a new server (createMode PointInTimeRestore), start one, delete a
// drill's scratch server. Mutations check first and name their idempotency key.

export interface PostgresDeps {
  client: PostgreSQLManagementFlexibleServerClient;
  /** How often to poll a restore (ms). */
  pollMs?: number;
}

export interface ServerRef {
  resourceGroup: string;
  server: string;
}

/** What runbooks need of a server; no secrets (ARM never returns the password). */
export interface ServerView {
  name: string;
  id: string;
  location: string;
  state: string;
  /** As ARM reports it (sandbox: `127.0.0.1:<port>`). */
  fqdn?: string;
  /** `host:port` an app's /health reports for it. */
  hostPort?: string;
  version?: string;
  administratorLogin?: string;
  earliestRestoreDate?: string;
  tags: Record<string, string>;
}

function view(s: Server): ServerView {
  const v: ServerView = {
    name: s.name ?? '?',
    id: s.id ?? '',
    location: s.location,
    state: s.state ?? 'Unknown',
    tags: s.tags ?? {},
  };
  if (s.fullyQualifiedDomainName) {
    v.fqdn = s.fullyQualifiedDomainName;
    v.hostPort = hostPort(s.fullyQualifiedDomainName);
  }
  if (s.version) v.version = s.version;
  if (s.administratorLogin) v.administratorLogin = s.administratorLogin;
  if (s.backup?.earliestRestoreDate)
    v.earliestRestoreDate = new Date(s.backup.earliestRestoreDate).toISOString();
  return v;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function safeContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

export function createPostgresActivities({ client, pollMs = 100 }: PostgresDeps) {
  async function get({ resourceGroup, server }: ServerRef): Promise<ServerView | null> {
    try {
      return view(await client.servers.get(resourceGroup, server));
    } catch (err) {
      if (isNotFound(err)) return null;
      return arm(`get server ${server}`, () => Promise.reject(err));
    }
  }

  async function waitState(
    ref: ServerRef,
    want: string,
    timeoutMs: number,
    heartbeat: (d: unknown) => void,
  ): Promise<ServerView> {
    const started = Date.now();
    for (;;) {
      const s = await get(ref);
      heartbeat({ state: s?.state ?? 'absent', waitedMs: Date.now() - started });
      if (s?.state === want) return s;
      if (!s)
        throw ApplicationFailure.retryable(`server ${ref.server} disappeared while waiting for ${want}`);
      if (Date.now() - started > timeoutMs) {
        throw ApplicationFailure.nonRetryable(
          `server ${ref.server} not ${want} after ${Math.round(timeoutMs / 1000)} s (state ${s.state})`,
          'ServerNotReady',
        );
      }
      await sleep(pollMs);
    }
  }

  return {
    /** Read-only; null when the server does not exist. */
    async readServer(ref: ServerRef): Promise<ServerView | null> {
      return get(ref);
    },

    /** Read-only: the server's backups, oldest first. */
    async listServerBackups(ref: ServerRef): Promise<BackupInfo[]> {
      return arm(`list backups of ${ref.server}`, async () => {
        const out: BackupInfo[] = [];
        for await (const b of client.backupsAutomaticAndOnDemand.listByServer(
          ref.resourceGroup,
          ref.server,
        )) {
          if (b.name && b.completedTime)
            out.push({ name: b.name, completedTime: new Date(b.completedTime).toISOString() });
        }
        return out.sort((a, b) => a.completedTime.localeCompare(b.completedTime));
      });
    },

    /**
     * A new server restored from `source` at `pointInTime`, waited for until Ready (heartbeats).
     * Idempotency key: the target name plus its restore tags (source, point in time): a server of
     * that name restored from the same source and time is this restore (a retry after a crash
     * waits for it); any other server of that name is a conflict and nothing is touched.
     */
    async restoreServer(input: {
      resourceGroup: string;
      source: string;
      /** The source as the preflight read it (id, location): saves a GET; read here when absent. */
      sourceView?: Pick<ServerView, 'id' | 'location'>;
      target: string;
      pointInTime: string;
      tags?: Record<string, string>;
      timeoutMs?: number;
    }): Promise<{ server: ServerView; created: boolean; durationMs: number }> {
      const ctx = safeContext();
      const heartbeat = (d: unknown) => ctx?.heartbeat(d);
      const started = Date.now();
      const ref = { resourceGroup: input.resourceGroup, server: input.target };
      const timeoutMs = input.timeoutMs ?? 60 * 60_000;
      const existing = await get(ref);
      if (existing) {
        const t = existing.tags;
        if (t[restoreTags.source] !== input.source || t[restoreTags.point] !== input.pointInTime) {
          throw ApplicationFailure.nonRetryable(
            `server ${input.target} already exists and is not the restore of ${input.source} at ${input.pointInTime} ` +
              `(it says: ${t[restoreTags.source] ?? 'not restored'} at ${t[restoreTags.point] ?? '-'}); choose another targetServer`,
            'RestoreTargetConflict',
          );
        }
        const server = await waitState(ref, 'Ready', timeoutMs, heartbeat);
        return { server, created: false, durationMs: Date.now() - started };
      }
      const source =
        input.sourceView?.id && input.sourceView.location
          ? input.sourceView
          : await get({ resourceGroup: input.resourceGroup, server: input.source });
      if (!source)
        throw ApplicationFailure.nonRetryable(`source server ${input.source} not found`, 'ServerNotFound');
      const poller = await arm(`restore ${input.source} at ${input.pointInTime} into ${input.target}`, () =>
        client.servers.beginCreateOrUpdate(input.resourceGroup, input.target, {
          location: source.location,
          createMode: 'PointInTimeRestore',
          sourceServerResourceId: source.id,
          pointInTimeUTC: new Date(input.pointInTime),
          tags: {
            ...input.tags,
            [restoreTags.source]: input.source,
            [restoreTags.point]: input.pointInTime,
          },
        }),
      );
      // Polled here rather than pollUntilDone: we heartbeat, and the pace is ours, not Retry-After's.
      const done = await arm(`restore into ${input.target}`, async () => {
        while (!poller.isDone()) {
          if (Date.now() - started > timeoutMs) {
            throw ApplicationFailure.nonRetryable(
              `restore into ${input.target} not done after ${Math.round(timeoutMs / 1000)} s`,
              'RestoreTimeout',
            );
          }
          await sleep(pollMs);
          await poller.poll();
          heartbeat({ state: poller.getOperationState().status, waitedMs: Date.now() - started });
        }
        return poller.getResult();
      });
      // The operation's final GET usually says Ready already; poll only if it does not.
      const server =
        done?.state === 'Ready' ? view(done) : await waitState(ref, 'Ready', timeoutMs, heartbeat);
      return { server, created: true, durationMs: Date.now() - started };
    },

    /** Idempotency key: (server, state Ready): a running server is left alone. */
    async startServer(ref: ServerRef): Promise<{ changed: boolean; server: ServerView }> {
      const s = await get(ref);
      if (!s) throw ApplicationFailure.nonRetryable(`server ${ref.server} not found`, 'ServerNotFound');
      if (s.state === 'Ready') return { changed: false, server: s };
      await arm(`start server ${ref.server}`, () =>
        client.servers.beginStartAndWait(ref.resourceGroup, ref.server, { updateIntervalInMs: pollMs }),
      );
      const server = await waitState(ref, 'Ready', 10 * 60_000, (d) => safeContext()?.heartbeat(d));
      return { changed: true, server };
    },

    /**
     * Deletes a drill's scratch server. Idempotency key: the server name (absent = done). Refuses
     * any server whose tags do not say it is this run's scratch server, so a typo cannot delete
     * production.
     */
    async deleteScratchServer(
      input: ServerRef & { purpose: string; runbook: string },
    ): Promise<{ deleted: boolean }> {
      const s = await get(input);
      if (!s) return { deleted: false };
      if (s.tags[restoreTags.purpose] !== input.purpose || s.tags[restoreTags.runbook] !== input.runbook) {
        throw ApplicationFailure.nonRetryable(
          `refusing to delete ${input.server}: it is not tagged as scratch server of ${input.runbook}`,
          'NotScratch',
        );
      }
      await arm(`delete server ${input.server}`, () =>
        client.servers.beginDeleteAndWait(input.resourceGroup, input.server, { updateIntervalInMs: pollMs }),
      );
      return { deleted: true };
    },
  };
}
