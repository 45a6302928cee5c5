import { ContainerAppsAPIClient } from '@azure/arm-appcontainers';
import { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import { DefaultAzureCredential } from '@azure/identity';
import type { Config } from '../config';

// The one place that knows how production and the sandbox differ: endpoint, CA and credential.

interface AccessTokenLike {
  token: string;
  expiresOnTimestamp: number;
}
interface TokenCredentialLike {
  getToken(scopes: string | string[]): Promise<AccessTokenLike | null>;
}

/** The emulator accepts any bearer token; the SDK's bearer policy still insists on one over HTTPS. */
export const sandboxCredential: TokenCredentialLike = {
  getToken: async () => ({ token: 'sandbox', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

export interface AzureClients {
  containerApps: ContainerAppsAPIClient;
  postgres: PostgreSQLManagementFlexibleServerClient;
}

export function createAzureClients(config: Config): AzureClients {
  const credential = config.target === 'sandbox' ? sandboxCredential : new DefaultAzureCredential();
  const options = {
    endpoint: config.azure.endpoint,
    ...(config.azure.caPem ? { tlsOptions: { ca: config.azure.caPem } } : {}),
  };
  return {
    containerApps: new ContainerAppsAPIClient(credential, config.azure.subscriptionId, options),
    postgres: new PostgreSQLManagementFlexibleServerClient(credential, config.azure.subscriptionId, options),
  };
}
