import type { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import { ApplicationFailure } from '@temporalio/common';
import { Client } from 'pg';
import {
  type CheckResult,
  judgeExpectation,
  manualTables,
  restoreTags,
  type VerificationReport,
  type VerifyQuery,
  writeTimeColumns,
} from '../domain/restore';
import { arm, isNotFound } from './arm';
import type { SecretSource } from './secretSource';

// The application database itself (pg): verification of a restored server, latest write times,
// the alembic schema revision. Activities take a server NAME; the host comes from ARM and the
// admin password from the configured SecretSource, inside the activity, so no connection string
// is ever an activity input or result (and so never in workflow history or logs).

export interface DatabaseDeps {
  postgres: PostgreSQLManagementFlexibleServerClient;
  secrets: SecretSource;
  /** Azure requires TLS; the sandbox's loopback clusters do not offer it. */
  ssl: boolean;
}

export interface DbRef {
  resourceGroup: string;
  server: string;
  database: string;
}

export interface Credentials {
  host: string;
  port: number;
  user: string;
  password: string;
}

/**
 * Admin credentials of a server: host and login from ARM, the password from the SecretSource,
 * following `fluentedge-restored-from` tags to the source's. For use inside activities only.
 */
export function serverCredentials({
  postgres,
  secrets,
}: Pick<DatabaseDeps, 'postgres' | 'secrets'>): (
  resourceGroup: string,
  server: string,
) => Promise<Credentials> {
  return async function credentials(resourceGroup, server) {
    let name = server;
    let first: { host: string; port: number; user: string } | undefined;
    for (let depth = 0; depth < 6; depth++) {
      const s = await postgres.servers.get(resourceGroup, name).catch((err) => {
        if (isNotFound(err))
          throw ApplicationFailure.nonRetryable(`server ${name} not found`, 'ServerNotFound');
        return arm(`get server ${name}`, () => Promise.reject(err));
      });
      if (!first) {
        const [host, port] = (s.fullyQualifiedDomainName ?? '').split(':');
        if (!host) throw ApplicationFailure.retryable(`server ${server} has no FQDN yet`);
        first = { host, port: Number(port ?? 5432), user: s.administratorLogin ?? '' };
      }
      const password = await secrets.adminPassword(name);
      if (password) return { ...first, password };
      const parent = s.tags?.[restoreTags.source];
      if (!parent) break;
      name = parent;
    }
    throw ApplicationFailure.nonRetryable(
      `no admin password for server ${server} in ${secrets.describe}`,
      'NoCredentials',
    );
  };
}

/** A DATABASE_URL with the admin login, for an app secret being rebuilt; never leaves an activity. */
export function databaseUrlOf(c: Credentials, database: string, ssl: boolean): string {
  return `postgres://${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}@${c.host}:${c.port}/${database}${ssl ? '?sslmode=require' : ''}`;
}

export function createDatabaseActivities({ postgres, secrets, ssl }: DatabaseDeps) {
  const credentials = serverCredentials({ postgres, secrets });
  async function withClient<T>(ref: DbRef, fn: (c: Client) => Promise<T>): Promise<T> {
    const cred = await credentials(ref.resourceGroup, ref.server);
    const client = new Client({
      ...cred,
      database: ref.database,
      connectionTimeoutMillis: 10_000,
      statement_timeout: 60_000,
      ...(ssl ? { ssl: { rejectUnauthorized: true } } : {}),
    });
    // A refused connection is worth retrying (the server may still be starting); a wrong
    // password or a missing database is not.
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      const code = (err as { code?: string }).code;
      if (code === '28P01' || code === '3D000' || code === '28000')
        throw ApplicationFailure.nonRetryable(
          `cannot connect to ${ref.server}/${ref.database}: ${(err as Error).message}`,
          'DatabaseLogin',
        );
      throw err;
    }
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  return {
    /**
     * Read-only, in a READ ONLY transaction: the expected tables exist, no row was written after
     * the restore point (write-time columns), and every `verify` query returns what it expects.
     */
    async verifyRestoredDatabase(
      input: DbRef & { pointInTime: string; expectTables?: string[]; verify: VerifyQuery[] },
    ): Promise<VerificationReport> {
      return withClient(input, async (c) => {
        const checks: CheckResult[] = [];
        await c.query('BEGIN READ ONLY');
        try {
          const tables = new Set(
            (
              await c.query<{ t: string }>(
                // pg_catalog rather than information_schema: a few ms less on a cold catalog.
                "SELECT c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'f')",
              )
            ).rows.map((r) => r.t),
          );
          const expected = input.expectTables ?? [...manualTables];
          const missing = expected.filter((t) => !tables.has(t));
          checks.push({
            name: 'tables present',
            ok: missing.length === 0,
            detail: missing.length ? `missing: ${missing.join(', ')}` : `${expected.length} tables present`,
          });
          const at = Date.parse(input.pointInTime);
          let latest: number | undefined;
          for (const { table, column } of writeTimeColumns) {
            if (!tables.has(table)) continue;
            const r = await c.query<{ m: Date | null }>(`SELECT max("${column}") AS m FROM "${table}"`);
            const m = r.rows[0]?.m;
            if (!m) continue;
            latest = Math.max(latest ?? 0, m.getTime());
            checks.push({
              name: `${table}.${column} ≤ restore point`,
              ok: m.getTime() <= at,
              detail: `latest ${m.toISOString()}`,
            });
          }
          let schemaRevision: string | undefined;
          if (tables.has('alembic_version')) {
            const r = await c.query<{ v: string }>('SELECT version_num AS v FROM alembic_version');
            schemaRevision = r.rows.map((x) => x.v).join(',');
          }
          for (const [i, q] of input.verify.entries()) {
            const name = q.name ?? `verify[${i}]`;
            try {
              await c.query('SAVEPOINT v');
              const r = await c.query({ text: q.sql, rowMode: 'array' });
              await c.query('RELEASE SAVEPOINT v');
              const value = (r.rows[0] as unknown[] | undefined)?.[0];
              checks.push({ name, ...judgeExpectation(value, q.expect) });
            } catch (err) {
              await c.query('ROLLBACK TO SAVEPOINT v');
              checks.push({ name, ok: false, detail: `query failed: ${(err as Error).message}` });
            }
          }
          return {
            server: input.server,
            ok: checks.every((x) => x.ok),
            checks,
            ...(latest !== undefined ? { latestWrite: new Date(latest).toISOString() } : {}),
            ...(schemaRevision !== undefined ? { schemaRevision } : {}),
          };
        } finally {
          await c.query('ROLLBACK').catch(() => undefined);
        }
      });
    },

    /** Read-only: `alembic_version` (empty list when the table is missing). */
    async schemaRevision(input: DbRef): Promise<{ reachable: boolean; revisions: string[]; error?: string }> {
      try {
        return await withClient(input, async (c) => {
          const t = await c.query("SELECT to_regclass('public.alembic_version') AS t");
          if (!t.rows[0]?.t) return { reachable: true, revisions: [] };
          const r = await c.query<{ v: string }>('SELECT version_num AS v FROM alembic_version ORDER BY 1');
          return { reachable: true, revisions: r.rows.map((x) => x.v) };
        });
      } catch (err) {
        if (err instanceof ApplicationFailure) throw err;
        return { reachable: false, revisions: [], error: (err as Error).message };
      }
    },
  };
}
