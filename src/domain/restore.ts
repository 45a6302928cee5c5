import { z } from 'zod';
import { approvalPolicySchema } from './canary';
import { duration, formatDuration } from './duration';
import { appName, environmentName, resourceGroupName } from './input';

// 障害復旧手順 (DR) as data: point-in-time restore inputs, the restore window, the manual's RTO/RPO
// targets by environment, verification expectations, and the names a retry must find again.
// Pure, so the workflow, the CLI and the tests reason about a restore the same way.

/** Azure flexible server names: 3-63 lowercase letters, digits and '-', not at either end. */
export const serverName = z
  .string({ message: 'expected a flexible server name' })
  .regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, {
    message: 'expected a flexible server name (3-63 lowercase letters, digits, hyphens)',
  });

const isoTime = z
  .string({ message: 'expected an ISO time like 2026-02-14T10:00:00Z' })
  .refine((s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(s), {
    message: 'expected an ISO time with a zone, like 2026-02-14T10:00:00Z',
  })
  .refine((s) => !Number.isNaN(Date.parse(s)), { message: 'not a valid time' });

export const restorePoint = z.union([z.literal('latest'), isoTime], {
  message: 'expected "latest" or an ISO time like 2026-02-14T10:00:00Z',
});

const envVarName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, { message: 'expected an env var name' });
const secretName = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/, { message: 'expected a container app secret name' });

/** Where an app keeps its DATABASE_URL: a secret (by name) or a plain env var of its first container. */
export const databaseUrlRef = z.union(
  [z.strictObject({ secretRef: secretName }), z.strictObject({ envVar: envVarName })],
  { message: 'expected {secretRef: "<secret name>"} or {envVar: "<ENV_NAME>"}' },
);
export type DatabaseUrlRef = z.output<typeof databaseUrlRef>;

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export const expectation = z.union([
  scalar,
  z
    .strictObject({ atLeast: z.number().optional(), atMost: z.number().optional() })
    .refine((e) => e.atLeast !== undefined || e.atMost !== undefined, {
      message: 'expected atLeast and/or atMost',
    }),
]);
export type Expectation = z.output<typeof expectation>;

/** A read-only query whose first column of the first row must match `expect`. */
export const verifyQuery = z.strictObject({
  name: z.string().min(1).max(100).optional(),
  sql: z
    .string({ message: 'expected a SQL query' })
    .min(1)
    .max(4000)
    .refine((s) => /^\s*(select|with|show|values|table)\b/i.test(s), {
      message: 'expected a read-only query (SELECT, WITH, SHOW, VALUES, TABLE)',
    }),
  expect: expectation,
});
export type VerifyQuery = z.output<typeof verifyQuery>;

export const pointInTimeRestoreInput = z
  .strictObject({
    sourceServer: serverName,
    restoreTo: restorePoint,
    /** When the incident happened; RPO is measured from here (default: when the runbook started). */
    incidentAt: isoTime.optional(),
    /** Name of the new server; default derived from the workflow id (retry-safe). */
    targetServer: serverName.optional(),
    resourceGroup: resourceGroupName.optional(),
    environment: environmentName.optional(),
    database: z
      .string()
      .regex(/^\w{1,63}$/, { message: 'expected a database name' })
      .default('fluentedge'),
    apps: z
      .array(z.strictObject({ app: appName, databaseUrl: databaseUrlRef }))
      .max(10)
      .default([])
      .refine((apps) => new Set(apps.map((a) => a.app)).size === apps.length, {
        message: 'each app at most once',
      }),
    verify: z.array(verifyQuery).max(20).default([]),
    /** Tables that must exist after the restore; default the manual's tables. */
    expectTables: z
      .array(z.string().regex(/^\w{1,63}$/))
      .max(100)
      .optional(),
    approvals: approvalPolicySchema.default(approvalPolicySchema.parse({ onExpiry: 'rollback' })),
    initiator: z.string().min(1).max(200).optional(),
    /** How long the apps get to report healthy on the restored server before the cutover is reverted. */
    healthTimeout: duration({ min: '5s', max: '30m' }).default(180_000),
    lock: z.enum(['wait', 'fail'], { message: 'expected wait or fail' }).default('wait'),
    dryRun: z.boolean().optional(),
  })
  .superRefine((input, ctx) => {
    if (input.targetServer && input.targetServer === input.sourceServer) {
      ctx.addIssue({
        code: 'custom',
        path: ['targetServer'],
        message: 'a restore always goes into a new server, not the source',
      });
    }
    if (
      input.incidentAt &&
      input.restoreTo !== 'latest' &&
      Date.parse(input.incidentAt) < Date.parse(input.restoreTo)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['incidentAt'],
        message: 'the incident cannot be before the restore point',
      });
    }
  });
export type PointInTimeRestoreInput = z.input<typeof pointInTimeRestoreInput>;
export type PointInTimeRestoreConfig = z.output<typeof pointInTimeRestoreInput>;

export const drDrillInput = z.strictObject({
  sourceServer: serverName,
  restoreTo: restorePoint.default('latest'),
  resourceGroup: resourceGroupName.optional(),
  environment: environmentName.optional(),
  database: z
    .string()
    .regex(/^\w{1,63}$/)
    .default('fluentedge'),
  verify: z.array(verifyQuery).max(20).default([]),
  expectTables: z
    .array(z.string().regex(/^\w{1,63}$/))
    .max(100)
    .optional(),
  /** Keep the scratch server for inspection instead of deleting it (it is tagged as a drill). */
  keepScratch: z.boolean().default(false),
  /** How many earlier drills of this server the trend shows. */
  trend: z.number().int().min(0).max(50).default(5),
  dryRun: z.boolean().optional(),
});
export type DrDrillInput = z.input<typeof drDrillInput>;
export type DrDrillConfig = z.output<typeof drDrillInput>;

/** The manual's tables (保守体制 / 週次運用) plus alembic's. */
export const manualTables = [
  'alembic_version',
  'users',
  'conversation_sessions',
  'review_items',
  'daily_stats',
  'api_usage_log',
] as const;

/** Columns that record when a row was written: none may be later than the restore point. */
export const writeTimeColumns: { table: string; column: string }[] = [
  { table: 'users', column: 'created_at' },
  { table: 'users', column: 'updated_at' },
  { table: 'conversation_sessions', column: 'started_at' },
  { table: 'review_items', column: 'created_at' },
  { table: 'api_usage_log', column: 'created_at' },
];

// ---- RTO / RPO ----------------------------------------------------------------------------------

export type Environment = z.output<typeof environmentName>;

const minute = 60_000;
const hour = 60 * minute;

/** 障害復旧手順 (DR) → RTO / RPO 目標. The sandbox is held to dev's targets. */
export const recoveryTargets: Record<Environment, { rtoMs: number; rpoMs: number }> = {
  production: { rtoMs: 30 * minute, rpoMs: 15 * minute },
  staging: { rtoMs: 2 * hour, rpoMs: 1 * hour },
  dev: { rtoMs: 4 * hour, rpoMs: 24 * hour },
  sandbox: { rtoMs: 4 * hour, rpoMs: 24 * hour },
};

export interface Measure {
  ms: number;
  targetMs: number;
  met: boolean;
  text: string;
}

export interface RecoveryJudgement {
  environment: Environment;
  rto: Measure;
  rpo: Measure;
  met: boolean;
  summary: string;
}

export function judgeRecovery(environment: Environment, rtoMs: number, rpoMs: number): RecoveryJudgement {
  const t = recoveryTargets[environment];
  const measure = (what: string, ms: number, targetMs: number): Measure => {
    const met = ms <= targetMs;
    const value = Math.max(0, Math.round(ms));
    return {
      ms: value,
      targetMs,
      met,
      text: `${what} ${formatDuration(value)} (target ${formatDuration(targetMs)}: ${met ? 'met' : 'missed'})`,
    };
  };
  const rto = measure('RTO', rtoMs, t.rtoMs);
  const rpo = measure('RPO', rpoMs, t.rpoMs);
  return { environment, rto, rpo, met: rto.met && rpo.met, summary: `${rto.text}, ${rpo.text}` };
}

// ---- restore window ----------------------------------------------------------------------------

export interface BackupInfo {
  name: string;
  completedTime: string;
}

export type WindowCheck =
  | { ok: true; pointInTime: string; backup: BackupInfo }
  | { ok: false; reason: string; code: 'InFuture' | 'BeforeWindow' | 'NoBackup' };

/**
 * PostgreSQL recovery cannot stop before a base backup's end, so the window opens at the oldest
 * kept backup's completion and closes now. The chosen backup is the newest that finished by the
 * restore point (least WAL to replay).
 */
export function checkRestoreWindow(pointInTime: Date, backups: BackupInfo[], now: Date): WindowCheck {
  const at = pointInTime.getTime();
  if (at > now.getTime()) {
    return {
      ok: false,
      code: 'InFuture',
      reason: `restore point ${pointInTime.toISOString()} is in the future (now ${now.toISOString()})`,
    };
  }
  const sorted = [...backups].sort((a, b) => Date.parse(a.completedTime) - Date.parse(b.completedTime));
  if (sorted.length === 0) return { ok: false, code: 'NoBackup', reason: 'the server has no backups yet' };
  const usable = sorted.filter((b) => Date.parse(b.completedTime) <= at);
  const backup = usable.at(-1);
  if (!backup) {
    return {
      ok: false,
      code: 'BeforeWindow',
      reason: `restore point ${pointInTime.toISOString()} is before the restore window (earliest ${new Date(sorted[0]!.completedTime).toISOString()})`,
    };
  }
  return { ok: true, pointInTime: pointInTime.toISOString(), backup };
}

// ---- names ---------------------------------------------------------------------------------------

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36).padStart(7, '0').slice(-6);
}

/**
 * `<source>-<kind>-<hash of the workflow id>`, within 63 characters: a retried or replayed run
 * finds the server it already created, and two runs never share one.
 */
export function restoredServerName(source: string, workflowId: string, kind: 'r' | 'drill' = 'r'): string {
  const hash = fnv1a(workflowId);
  const room = 63 - kind.length - hash.length - 2;
  return `${source.slice(0, room).replace(/-+$/, '')}-${kind}-${hash}`;
}

/** Revision suffix for an env-var cutover (a new revision), valid for Azure and unique per run. */
export function cutoverSuffix(workflowId: string, back = false): string {
  return `dr-${fnv1a(workflowId)}${back ? '-back' : ''}`;
}

/** `restore-<source>-<time>` / `drill-<source>-<time>`: deterministic, so a retried start attaches. */
export function restoreWorkflowId(source: string, restoreTo: string): string {
  return `restore-${source}-${restoreTo.replace(/[^\w.-]/g, '-')}`;
}

/** Tags that tie a restored server to its request, so a retry can recognise it (Azure keeps tags). */
export const restoreTags = {
  source: 'fluentedge-restored-from',
  point: 'fluentedge-restore-point',
  runbook: 'fluentedge-runbook',
  purpose: 'fluentedge-purpose',
} as const;

// ---- connection URLs (no secrets here: only hosts) ---------------------------------------------

/**
 * `host:port` an app's /health reports for a server FQDN. Azure FQDNs have no port (5432); the
 * sandbox's carry one (`127.0.0.1:6433`).
 */
export function hostPort(fqdn: string): string {
  return /:\d+$/.test(fqdn) ? fqdn : `${fqdn}:5432`;
}

/** `host:port` of a postgres URL, or undefined when it is not one. */
export function urlHostPort(url: string): string | undefined {
  try {
    const u = new URL(url);
    if (!/^postgres(ql)?:$/.test(u.protocol) || !u.hostname) return undefined;
    return `${u.hostname}:${u.port || '5432'}`;
  } catch {
    return undefined;
  }
}

/**
 * The same URL (user, password, database, parameters) pointed at another server: a point-in-time
 * restore is a physical copy, so every role and password of the source exists on the new server.
 */
export function retargetUrl(url: string, toHostPort: string): string {
  const u = new URL(url);
  const [host, port] = hostPort(toHostPort).split(':');
  u.hostname = host!;
  u.port = port === '5432' ? '' : port!;
  return u.toString();
}

// ---- verification --------------------------------------------------------------------------------

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

export function judgeExpectation(actual: unknown, expect: Expectation): { ok: boolean; detail: string } {
  const shown = actual === undefined ? '(no rows)' : JSON.stringify(actual);
  if (expect !== null && typeof expect === 'object') {
    const n = typeof actual === 'number' ? actual : Number(actual);
    if (actual === null || actual === undefined || Number.isNaN(n))
      return { ok: false, detail: `got ${shown}, expected a number` };
    const low = expect.atLeast === undefined || n >= expect.atLeast;
    const high = expect.atMost === undefined || n <= expect.atMost;
    const bounds = [
      expect.atLeast !== undefined ? `≥ ${expect.atLeast}` : '',
      expect.atMost !== undefined ? `≤ ${expect.atMost}` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    return { ok: low && high, detail: `got ${n}, expected ${bounds}` };
  }
  let ok: boolean;
  if (typeof expect === 'number') ok = actual !== null && actual !== undefined && Number(actual) === expect;
  else if (typeof expect === 'boolean') ok = actual === expect || String(actual) === String(expect);
  else if (expect === null) ok = actual === null;
  else ok = actual !== null && actual !== undefined && String(actual) === expect;
  return { ok, detail: `got ${shown}, expected ${JSON.stringify(expect)}` };
}

export interface VerificationReport {
  server: string;
  ok: boolean;
  checks: CheckResult[];
  /** Latest write time found in the restored data (ISO), for the RPO report. */
  latestWrite?: string;
  schemaRevision?: string;
}

/** One line for gates and notifications. */
export function verificationSummary(v: VerificationReport): string {
  const failed = v.checks.filter((c) => !c.ok);
  return failed.length === 0
    ? `all ${v.checks.length} checks passed`
    : `${failed.length}/${v.checks.length} checks failed: ${failed.map((c) => `${c.name} (${c.detail})`).join('; ')}`;
}

// ---- results ---------------------------------------------------------------------------------------

export type RestoreOutcome = 'restored' | 'reverted' | 'not-cut-over' | 'planned';

export interface AppCutover {
  app: string;
  ref: DatabaseUrlRef;
  /** `host:port` before and after; never the URL. */
  from: string;
  to: string;
  changed: boolean;
  restarted: string[];
  healthy: boolean;
  detail: string;
  reverted?: boolean;
}

export interface RestoreResult {
  outcome: RestoreOutcome;
  sourceServer: string;
  targetServer: string;
  pointInTime?: string;
  backup?: string;
  reason: string;
  verification?: VerificationReport;
  apps: AppCutover[];
  recovery?: RecoveryJudgement;
  /** Milliseconds spent in each phase: preflight, restore, verify, approval, cutover. */
  timings: Record<string, number>;
  plan?: string[];
}

export interface DrillResult {
  outcome: 'passed' | 'failed' | 'planned';
  sourceServer: string;
  scratchServer: string;
  pointInTime?: string;
  backup?: string;
  verification?: VerificationReport;
  recovery?: RecoveryJudgement;
  scratchDeleted: boolean;
  reason: string;
  timings: Record<string, number>;
  trend?: DrillTrendEntry[];
  plan?: string[];
}

export interface DrillTrendEntry {
  workflowId: string;
  startedAt: string;
  outcome: string;
  rtoMs?: number;
  rpoMs?: number;
  met?: boolean;
}

/** "3 of the last 4 drills met RTO/RPO; RTO 2m10s → 2m31s" for the status of the latest drill. */
export function trendSummary(entries: DrillTrendEntry[]): string {
  if (entries.length === 0) return 'no earlier drills';
  const met = entries.filter((e) => e.met).length;
  const rtos = entries.filter((e) => e.rtoMs !== undefined).map((e) => formatDuration(e.rtoMs!));
  return `${met} of the last ${entries.length} drills met RTO/RPO${rtos.length ? `; RTO oldest→newest ${[...rtos].reverse().join(' → ')}` : ''}`;
}

// ---- full outage recovery -------------------------------------------------------------------------

export const fullOutageRecoveryInput = z.strictObject({
  app: appName,
  resourceGroup: resourceGroupName.optional(),
  environment: environmentName.optional(),
  /** The app's database: started if stopped, its alembic_version compared with `expectedSchemaRevision`. */
  database: z
    .strictObject({
      server: serverName,
      name: z
        .string()
        .regex(/^\w{1,63}$/)
        .default('fluentedge'),
    })
    .optional(),
  /** `alembic current` should say this (the revision the deployed image expects). */
  expectedSchemaRevision: z
    .string()
    .regex(/^\w{1,64}$/, { message: 'expected an alembic revision id' })
    .optional(),
  /**
   * Values for the app's inline secrets when it has to be redeployed from the registry (which
   * keeps secret names only): `{ "database-url": { "databaseUrlFor": { "server": "fluentedge-pg" } } }`.
   * Key Vault secret references need nothing here.
   */
  secrets: z
    .record(
      z.string().regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, { message: 'expected a secret name' }),
      z.strictObject({
        databaseUrlFor: z.strictObject({
          server: serverName,
          database: z
            .string()
            .regex(/^\w{1,63}$/)
            .default('fluentedge'),
        }),
      }),
    )
    .default({}),
  healthTimeout: duration({ min: '5s', max: '30m' }).default(120_000),
  lock: z.enum(['wait', 'fail'], { message: 'expected wait or fail' }).default('wait'),
  dryRun: z.boolean().optional(),
});
export type FullOutageRecoveryInput = z.input<typeof fullOutageRecoveryInput>;
export type FullOutageRecoveryConfig = z.output<typeof fullOutageRecoveryInput>;

/** A container app as the registry keeps it: enough to redeploy, never a secret value. */
export interface AppSpec {
  location: string;
  environmentId?: string;
  tags?: Record<string, string>;
  configuration: {
    activeRevisionsMode: string;
    ingress?: Record<string, unknown>;
    registries?: unknown[];
    secrets: { name: string; keyVaultUrl?: string; identity?: string }[];
  };
  template: Record<string, unknown>;
}

export interface KnownGoodSpec {
  resourceGroup: string;
  app: string;
  recordedAt: string;
  /** Image of the first container, for the report. */
  image?: string;
  spec: AppSpec;
}

export const specKey = (resourceGroup: string, app: string) => `${resourceGroup}/${app}`.toLowerCase();

/**
 * From a GET of the app (the SDK's flattened ContainerApp) to a redeployable spec: read-only and
 * runtime fields dropped, traffic reset to "latest revision 100%" (the old revisions are gone on
 * a redeploy), the revision suffix dropped (Azure names the new one), secret VALUES dropped.
 */
export function toKnownGoodSpec(app: Record<string, unknown>): AppSpec {
  const cfg = (app['configuration'] ?? {}) as Record<string, unknown>;
  const ingress = cfg['ingress'] as Record<string, unknown> | undefined;
  const template = { ...((app['template'] ?? {}) as Record<string, unknown>) };
  delete template['revisionSuffix'];
  const secrets = ((cfg['secrets'] ?? []) as Record<string, unknown>[]).map((s) => ({
    name: String(s['name']),
    ...(typeof s['keyVaultUrl'] === 'string' ? { keyVaultUrl: s['keyVaultUrl'] } : {}),
    ...(typeof s['identity'] === 'string' ? { identity: s['identity'] } : {}),
  }));
  const spec: AppSpec = {
    location: String(app['location'] ?? ''),
    configuration: {
      activeRevisionsMode: String(cfg['activeRevisionsMode'] ?? 'Single'),
      secrets,
    },
    template,
  };
  const envId = app['environmentId'] ?? app['managedEnvironmentId'];
  if (typeof envId === 'string') spec.environmentId = envId;
  if (app['tags'] && typeof app['tags'] === 'object') spec.tags = app['tags'] as Record<string, string>;
  if (ingress) {
    const { fqdn: _f, traffic: _t, ...rest } = ingress;
    spec.configuration.ingress = { ...rest, traffic: [{ latestRevision: true, weight: 100 }] };
  }
  if (Array.isArray(cfg['registries'])) spec.configuration.registries = cfg['registries'] as unknown[];
  return spec;
}

/** Secrets a redeploy cannot fill: inline in the spec and without a source in the input. */
export function missingSecretSources(spec: AppSpec, sources: Record<string, unknown>): string[] {
  return spec.configuration.secrets.filter((s) => !s.keyVaultUrl && !(s.name in sources)).map((s) => s.name);
}

export type RecoveryOutcome = 'healthy' | 'recovered' | 'unrecovered' | 'planned';

export interface RecoveryFinding {
  step: string;
  found: string;
  action?: string;
}

export interface FullOutageResult {
  outcome: RecoveryOutcome;
  app: string;
  reason: string;
  findings: RecoveryFinding[];
  schema?: { expected?: string; actual: string[]; matches: boolean | undefined };
  health?: { ok: boolean; detail: string };
  plan?: string[];
}
