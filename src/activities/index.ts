import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { AzureClients } from './azure';
import { createContainerAppsActivities } from './containerApps';
import { createHttpActivities } from './http';
import { createPrometheusActivities } from './prometheus';
import { createSettingsActivities } from './settings';
import { createTemporalActivities } from './temporal';

export interface ActivityDeps {
  config: Config;
  azure: AzureClients;
  temporal: Client;
}

export function createActivities({ config, azure, temporal }: ActivityDeps) {
  return {
    ...createSettingsActivities(config),
    ...createContainerAppsActivities({ client: azure.containerApps, urlScheme: config.appUrlScheme }),
    ...createHttpActivities(),
    ...createPrometheusActivities(),
    ...createTemporalActivities({ client: temporal, taskQueue: config.temporal.taskQueue }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
