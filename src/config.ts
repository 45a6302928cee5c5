import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

// Everything that differs between production and the sandbox is here, read from the
// environment once. A bad environment stops the process with one message naming every bad
// variable, before any client is created.

// src/ in development, dist/ when built: the project root is one up either way.
export const projectRoot = path.resolve(__dirname, '..');
export const sandboxDir = path.join(projectRoot, '.data', 'sandbox');
export const endpointsFile = path.join(sandboxDir, 'endpoints.json');

const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, {
  message: 'a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)',
});
const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, { message: 'host:port, e.g. 127.0.0.1:7233' });
const httpsUrl = z.url({ protocol: /^https$/, message: 'an https:// URL' });
const anyUrl = z.url({ protocol: /^https?$/, message: 'an http:// or https:// URL' });
const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const envSchema = z
  .object({
    TEMPORAL_ADDRESS: hostPort.default('127.0.0.1:7233'),
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    TEMPORAL_TASK_QUEUE: z.string().min(1).default('fluentedge-runbooks'),
    TEMPORAL_TLS: flag.default(false),
    TEMPORAL_API_KEY: z.string().min(1).optional(),
    RUNBOOK_TARGET: z.enum(['azure', 'sandbox'], { message: 'azure or sandbox' }).default('sandbox'),
    RUNBOOK_ENVIRONMENT: z
      .enum(['production', 'staging', 'dev', 'sandbox'], { message: 'production, staging, dev or sandbox' })
      .optional(),
    RUNBOOK_LANG: z.enum(['en', 'ja'], { message: 'en or ja' }).default('en'),
    AZURE_SUBSCRIPTION_ID: uuid.optional(),
    AZURE_RESOURCE_GROUP: z
      .string()
      .regex(/^[-\w._()]{1,90}$/, { message: 'a resource group name (1-90 letters, digits, -_.())' })
      .optional(),
    ARM_ENDPOINT: httpsUrl.optional(),
    ARM_CA_FILE: z.string().min(1).optional(),
    APP_URL_SCHEME: z.enum(['http', 'https'], { message: 'http or https' }).optional(),
    NOTIFY_WEBHOOK_URL: anyUrl.optional(),
    PROMETHEUS_URL: anyUrl.optional(),
    // Flexible-server admin passwords for restore verification (src/activities/secretSource.ts);
    // PG_ADMIN_PASSWORD_<SERVER> variables are read there by name.
    PG_ADMIN_PASSWORD: z.string().min(1).optional(),
    PG_ADMIN_KEY_VAULT_URL: httpsUrl.optional(),
    SANDBOX_ADMIN_URL: httpsUrl.optional(),
    ARM_POLL_MS: z.coerce
      .number({ message: 'milliseconds, 10-60000' })
      .int({ message: 'milliseconds, 10-60000' })
      .min(10, { message: 'milliseconds, 10-60000' })
      .max(60_000, { message: 'milliseconds, 10-60000' })
      .optional(),
    LOG_LEVEL: z
      .enum(['debug', 'info', 'warn', 'error'], { message: 'debug, info, warn or error' })
      .default('info'),
  })
  .superRefine((env, ctx) => {
    if (env.RUNBOOK_TARGET === 'azure' && !env.AZURE_SUBSCRIPTION_ID) {
      ctx.addIssue({
        code: 'custom',
        path: ['AZURE_SUBSCRIPTION_ID'],
        message: 'required when RUNBOOK_TARGET=azure',
      });
    }
  });

export interface Config {
  temporal: { address: string; namespace: string; taskQueue: string; tls: boolean; apiKey?: string };
  target: 'azure' | 'sandbox';
  environment: 'production' | 'staging' | 'dev' | 'sandbox';
  lang: 'en' | 'ja';
  azure: { subscriptionId: string; resourceGroup: string; endpoint: string; caPem?: string };
  appUrlScheme: 'http' | 'https';
  notifyWebhookUrl?: string;
  prometheusUrl?: string;
  sandboxAdminUrl?: string;
  /** How often long waits on flexible servers (restore, start, delete) poll ARM. */
  armPollMs: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid environment:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/** What `npm run sandbox` wrote; the sandbox target falls back to it for unset variables. */
export interface SandboxEndpoints {
  subscriptionId: string;
  resourceGroup: string;
  armUrl: string;
  caFile: string;
  temporal: { address: string; uiUrl: string; namespace: string };
  ingress: Record<string, string>;
  adminUrl: string;
  [key: string]: unknown;
}

export function readSandboxEndpoints(file = endpointsFile): SandboxEndpoints | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SandboxEndpoints;
  } catch {
    return undefined;
  }
}

export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  opts: { requireAzure?: boolean } = {},
): Config {
  // docker-compose's `${VAR:-}` yields empty strings; an empty variable means unset.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const name = String(i.path[0] ?? '?');
        return `${name}=${JSON.stringify(env[name] ?? '')}: expected ${i.message}`;
      }),
    );
  }
  const e = parsed.data;
  const sandbox =
    e.RUNBOOK_TARGET === 'sandbox' ? readSandboxEndpoints(env.SANDBOX_ENDPOINTS_FILE) : undefined;
  const problems: string[] = [];
  const subscriptionId = e.AZURE_SUBSCRIPTION_ID ?? sandbox?.subscriptionId;
  if (!subscriptionId && opts.requireAzure !== false) {
    problems.push('AZURE_SUBSCRIPTION_ID="": expected a UUID (or a running sandbox: npm run sandbox)');
  }
  const endpoint = e.ARM_ENDPOINT ?? (sandbox ? sandbox.armUrl : 'https://management.azure.com');
  const caFile = e.ARM_CA_FILE ?? sandbox?.caFile;
  let caPem: string | undefined;
  if (caFile) {
    try {
      caPem = readFileSync(caFile, 'utf8');
    } catch {
      problems.push(`ARM_CA_FILE=${JSON.stringify(caFile)}: expected a readable PEM file`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const sandboxed = e.RUNBOOK_TARGET === 'sandbox';
  return {
    temporal: {
      address: env.TEMPORAL_ADDRESS ? e.TEMPORAL_ADDRESS : (sandbox?.temporal.address ?? e.TEMPORAL_ADDRESS),
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      tls: e.TEMPORAL_TLS,
      ...(e.TEMPORAL_API_KEY ? { apiKey: e.TEMPORAL_API_KEY } : {}),
    },
    target: e.RUNBOOK_TARGET,
    environment: e.RUNBOOK_ENVIRONMENT ?? (sandboxed ? 'sandbox' : 'production'),
    lang: e.RUNBOOK_LANG,
    azure: {
      subscriptionId: subscriptionId ?? '',
      resourceGroup: e.AZURE_RESOURCE_GROUP ?? sandbox?.resourceGroup ?? 'rg-fluentedge',
      endpoint,
      ...(caPem ? { caPem } : {}),
    },
    appUrlScheme: e.APP_URL_SCHEME ?? (sandboxed ? 'http' : 'https'),
    ...(e.NOTIFY_WEBHOOK_URL ? { notifyWebhookUrl: e.NOTIFY_WEBHOOK_URL } : {}),
    ...((e.PROMETHEUS_URL ?? sandbox?.prometheusUrl)
      ? { prometheusUrl: e.PROMETHEUS_URL ?? (sandbox?.prometheusUrl as string) }
      : {}),
    ...((e.SANDBOX_ADMIN_URL ?? sandbox?.adminUrl)
      ? { sandboxAdminUrl: e.SANDBOX_ADMIN_URL ?? sandbox?.adminUrl }
      : {}),
    // Azure restores take minutes and ARM throttles reads per subscription: poll every 5 s
    // there; the emulator restores in seconds, where 100 ms keeps RTO honest.
    armPollMs: e.ARM_POLL_MS ?? (sandboxed ? 25 : 5_000),
    logLevel: e.LOG_LEVEL,
  };
}

/** For entry points: a bad environment is a usage error (exit 2) with the full list. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
