import type { Config } from '../config';
import type { AzureClients } from './azure';
import { createContainerAppsActivities } from './containerApps';
import { createHttpActivities } from './http';
import { createSettingsActivities } from './settings';

export interface ActivityDeps {
  config: Config;
  azure: AzureClients;
}

export function createActivities({ config, azure }: ActivityDeps) {
  return {
    ...createSettingsActivities(config),
    ...createContainerAppsActivities({ client: azure.containerApps, urlScheme: config.appUrlScheme }),
    ...createHttpActivities(),
  };
}

export type Activities = ReturnType<typeof createActivities>;
