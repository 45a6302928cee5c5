import { randomBytes } from 'node:crypto';
import https from 'node:https';
import type { AzureClients } from '../activities/azure';

// The seeded sandbox estate, created through the real SDK clients exactly as an operator would
// create it in Azure: resource group, flexible server, and the backend app in Multiple mode with
// one healthy revision at 100%. Idempotent: what exists is kept.

export const seedNames = {
  resourceGroup: 'rg-fluentedge-sandbox',
  environment: 'cae-fluentedge-sandbox',
  server: 'fluentedge-pg',
  app: 'fluentedge-backend',
  firstSuffix: 'v1',
  image: 'fluentedgeacr.azurecr.io/fluentedge-backend:1.0.0',
  location: 'japaneast',
  adminLogin: 'fluentedge',
} as const;

export interface SeedOptions {
  armUrl: string;
  caPem: string;
  subscriptionId: string;
  adminPassword: string;
  redisUrl: string;
  llmBaseUrl: string;
}

export interface SeedResult {
  databaseUrl: string;
  serverPort: number;
  created: string[];
}

export function newPassword(): string {
  return `Fe-${randomBytes(12).toString('base64url')}`;
}

/** Resource groups live in Microsoft.Resources, whose SDK we do not otherwise need. */
function putResourceGroup(o: SeedOptions, name: string): Promise<number> {
  const url = new URL(
    `/subscriptions/${o.subscriptionId}/resourcegroups/${name}?api-version=2021-04-01`,
    o.armUrl,
  );
  const body = JSON.stringify({ location: seedNames.location, tags: { purpose: 'sandbox' } });
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: 'PUT',
        ca: o.caPem,
        headers: {
          authorization: 'Bearer sandbox',
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          (res.statusCode ?? 500) < 300
            ? resolve(res.statusCode ?? 0)
            : reject(new Error(`PUT resource group: ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const notFound = (err: unknown) => (err as { statusCode?: number }).statusCode === 404;

export async function seedSandbox(azure: AzureClients, o: SeedOptions): Promise<SeedResult> {
  const n = seedNames;
  const created: string[] = [];
  const poll = { updateIntervalInMs: 250 };
  if ((await putResourceGroup(o, n.resourceGroup)) === 201) created.push(`resource group ${n.resourceGroup}`);

  let server = await azure.postgres.servers.get(n.resourceGroup, n.server).catch((err) => {
    if (notFound(err)) return undefined;
    throw err;
  });
  if (!server) {
    server = await azure.postgres.servers.beginCreateOrUpdateAndWait(
      n.resourceGroup,
      n.server,
      {
        location: n.location,
        createMode: 'Create',
        version: '16',
        administratorLogin: n.adminLogin,
        administratorLoginPassword: o.adminPassword,
        sku: { name: 'Standard_B1ms', tier: 'Burstable' },
        storage: { storageSizeGB: 32 },
        backup: { backupRetentionDays: 7, geoRedundantBackup: 'Disabled' },
      },
      poll,
    );
    created.push(`flexible server ${n.server}`);
  }
  // Sandbox FQDNs carry the port (`127.0.0.1:6432`); Azure's never do (5432).
  const [host, port = '5432'] = (server.fullyQualifiedDomainName ?? '127.0.0.1').split(':');
  const databaseUrl = `postgres://${n.adminLogin}:${encodeURIComponent(o.adminPassword)}@${host}:${port}/fluentedge`;

  const app = await azure.containerApps.containerApps.get(n.resourceGroup, n.app).catch((err) => {
    if (notFound(err)) return undefined;
    throw err;
  });
  if (!app) {
    await azure.containerApps.containerApps.beginCreateOrUpdateAndWait(
      n.resourceGroup,
      n.app,
      {
        location: n.location,
        managedEnvironmentId: `/subscriptions/${o.subscriptionId}/resourceGroups/${n.resourceGroup}/providers/Microsoft.App/managedEnvironments/${n.environment}`,
        configuration: {
          activeRevisionsMode: 'Multiple',
          secrets: [{ name: 'database-url', value: databaseUrl }],
          ingress: {
            external: true,
            targetPort: 8000,
            transport: 'http',
            traffic: [{ revisionName: `${n.app}--${n.firstSuffix}`, weight: 100 }],
          },
        },
        template: {
          revisionSuffix: n.firstSuffix,
          containers: [
            {
              name: 'backend',
              image: n.image,
              resources: { cpu: 0.5, memory: '1Gi' },
              env: [
                { name: 'DATABASE_URL', secretRef: 'database-url' },
                { name: 'REDIS_URL', value: o.redisUrl },
                { name: 'LLM_PROVIDER', value: 'azure-openai' },
                { name: 'LLM_BASE_URL', value: o.llmBaseUrl },
              ],
            },
          ],
          scale: { minReplicas: 1, maxReplicas: 3 },
        },
      },
      poll,
    );
    created.push(`container app ${n.app}`);
  }
  return { databaseUrl, serverPort: Number(port), created };
}
