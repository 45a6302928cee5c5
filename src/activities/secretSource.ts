import { readFileSync } from 'node:fs';
import { DefaultAzureCredential } from '@azure/identity';
import { type Config, endpointsFile } from '../config';

// Where activities get a flexible server's admin password, so that workflows only ever name a
// server and never carry a connection string. Chosen by configuration like the ARM endpoint:
//
// - sandbox: `endpoints.json` (`postgres.<server>.url`, written by `npm run sandbox`);
// - production: `PG_ADMIN_PASSWORD_<SERVER>` (server name upper-cased, '-' → '_') or
//   `PG_ADMIN_PASSWORD` from the worker's environment, else the Key Vault secret
//   `pg-admin-<server>` of `PG_ADMIN_KEY_VAULT_URL` read with the worker's Azure identity.
//
// A server this source does not know (a restored one) inherits the password of the server it was
// restored from (`fluentedge-restored-from` tag): a point-in-time restore is a physical copy.

export interface SecretSource {
  /** What the operator reads in an error: where passwords are looked up. */
  readonly describe: string;
  adminPassword(server: string): Promise<string | undefined>;
}

export function sandboxSecretSource(endpointsFile: string): SecretSource {
  return {
    describe: `sandbox endpoints (${endpointsFile})`,
    async adminPassword(server) {
      try {
        const doc = JSON.parse(readFileSync(endpointsFile, 'utf8')) as {
          postgres?: Record<string, { url?: string }>;
        };
        const url = doc.postgres?.[server]?.url;
        return url ? decodeURIComponent(new URL(url).password) : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

export const passwordVar = (server: string) => `PG_ADMIN_PASSWORD_${server.toUpperCase().replace(/-/g, '_')}`;

export function envSecretSource(env: NodeJS.ProcessEnv): SecretSource {
  return {
    describe: 'worker environment (PG_ADMIN_PASSWORD_<SERVER> / PG_ADMIN_PASSWORD)',
    async adminPassword(server) {
      return env[passwordVar(server)] || env['PG_ADMIN_PASSWORD'] || undefined;
    },
  };
}

interface TokenSource {
  getToken(scope: string): Promise<{ token: string } | null>;
}

/** Key Vault's REST API (GET secret) with the worker's identity; no extra SDK needed. */
export function keyVaultSecretSource(
  vaultUrl: string,
  credential: TokenSource,
  doFetch: typeof fetch = fetch,
): SecretSource {
  const base = vaultUrl.replace(/\/$/, '');
  return {
    describe: `Key Vault ${base} (secret pg-admin-<server>)`,
    async adminPassword(server) {
      const token = await credential.getToken('https://vault.azure.net/.default');
      if (!token) throw new Error('no token for Key Vault');
      const res = await doFetch(`${base}/secrets/pg-admin-${server}?api-version=7.4`, {
        headers: { authorization: `Bearer ${token.token}` },
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status === 404) return undefined;
      if (!res.ok) throw new Error(`Key Vault answered ${res.status} for pg-admin-${server}`);
      return ((await res.json()) as { value?: string }).value;
    },
  };
}

/** First source that knows the server wins. */
export function chain(...sources: SecretSource[]): SecretSource {
  return {
    describe: sources.map((s) => s.describe).join(', then '),
    async adminPassword(server) {
      for (const s of sources) {
        const p = await s.adminPassword(server);
        if (p) return p;
      }
      return undefined;
    },
  };
}

export function createSecretSource(config: Config, env: NodeJS.ProcessEnv = process.env): SecretSource {
  const sources = [envSecretSource(env)];
  if (config.target === 'sandbox') {
    sources.push(sandboxSecretSource(env['SANDBOX_ENDPOINTS_FILE'] || endpointsFile));
  }
  const vault = env['PG_ADMIN_KEY_VAULT_URL'];
  if (vault) sources.push(keyVaultSecretSource(vault, new DefaultAzureCredential()));
  return chain(...sources);
}
