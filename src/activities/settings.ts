import type { Config } from '../config';
import type { RunbookSettings } from '../domain/status';

// Workflows cannot read the environment; they ask once, through a local activity, and the
// answer is recorded in history so a replay sees the same settings.
export function createSettingsActivities(config: Config) {
  return {
    async runbookSettings(): Promise<RunbookSettings> {
      return {
        lang: config.lang,
        environment: config.environment,
        resourceGroup: config.azure.resourceGroup,
        target: config.target,
        ...(config.prometheusUrl ? { prometheusUrl: config.prometheusUrl } : {}),
      };
    },
  };
}
