import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { AzureClients } from './azure';
import { createContainerAppsActivities } from './containerApps';
import { createDatabaseActivities } from './database';
import { createHttpActivities } from './http';
import { createPostgresActivities } from './postgres';
import { createPrometheusActivities } from './prometheus';
import { createRecoveryActivities } from './recovery';
import { createSecretSource, type SecretSource } from './secretSource';
import { createSettingsActivities } from './settings';
import { createTemporalActivities } from './temporal';

export interface ActivityDeps {
  config: Config;
  azure: AzureClients;
  temporal: Client;
  /** Where DB admin passwords come from (DR runbooks); default from config. */
  secrets?: SecretSource;
}

export function createActivities({ config, azure, temporal, secrets }: ActivityDeps) {
  // DR runbooks: connection strings are built inside activities from these, never passed around.
  const secretSource = secrets ?? createSecretSource(config);
  const ssl = config.target === 'azure';
  return {
    ...createSettingsActivities(config),
    ...createContainerAppsActivities({ client: azure.containerApps, urlScheme: config.appUrlScheme }),
    ...createHttpActivities(),
    ...createPrometheusActivities(),
    ...createTemporalActivities({
      client: temporal,
      taskQueue: config.temporal.taskQueue,
      containerApps: azure.containerApps,
    }),
    ...createPostgresActivities({ client: azure.postgres, pollMs: config.armPollMs }),
    ...createDatabaseActivities({ postgres: azure.postgres, secrets: secretSource, ssl }),
    ...createRecoveryActivities({
      containerApps: azure.containerApps,
      postgres: azure.postgres,
      secrets: secretSource,
      ssl,
    }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
