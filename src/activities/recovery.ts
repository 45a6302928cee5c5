import type { ContainerApp, ContainerAppsAPIClient } from '@azure/arm-appcontainers';
import type { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import { ApplicationFailure } from '@temporalio/common';
import { type AppSpec, missingSecretSources } from '../domain/restore';
import { arm, isNotFound } from './arm';
import { databaseUrlOf, serverCredentials } from './database';
import type { SecretSource } from './secretSource';

// 全サービスダウンからの復旧 → "Terraform で再デプロイ (最終手段)": recreate a container app from
// the last known-good spec the registry kept. The registry holds secret NAMES only; values are
// filled here, inside the activity, from Key Vault references (kept as references) or from an
// operator-named source (`databaseUrlFor`: rebuilt from the server's admin credentials).

export interface RecoveryDeps {
  containerApps: ContainerAppsAPIClient;
  postgres: PostgreSQLManagementFlexibleServerClient;
  secrets: SecretSource;
  ssl: boolean;
  pollMs?: number;
}

export type SecretSources = Record<string, { databaseUrlFor: { server: string; database: string } }>;

export function createRecoveryActivities(deps: RecoveryDeps) {
  const credentials = serverCredentials(deps);
  return {
    /**
     * Creates the app from `spec` when it does not exist. Idempotency key: the app name: an
     * existing app (e.g. created by an earlier attempt that crashed) is left as it is.
     */
    async redeployApp(input: {
      resourceGroup: string;
      app: string;
      spec: AppSpec;
      secrets: SecretSources;
    }): Promise<{ created: boolean; latestRevision?: string }> {
      try {
        const existing = await deps.containerApps.containerApps.get(input.resourceGroup, input.app);
        return {
          created: false,
          ...(existing.latestRevisionName ? { latestRevision: existing.latestRevisionName } : {}),
        };
      } catch (err) {
        if (!isNotFound(err)) return arm(`get container app ${input.app}`, () => Promise.reject(err));
      }
      const missing = missingSecretSources(input.spec, input.secrets);
      if (missing.length > 0) {
        throw ApplicationFailure.nonRetryable(
          `cannot redeploy ${input.app}: no value for secret(s) ${missing.join(', ')} (pass input.secrets)`,
          'MissingSecrets',
        );
      }
      const secrets = [];
      for (const s of input.spec.configuration.secrets) {
        if (s.keyVaultUrl) {
          secrets.push(s);
          continue;
        }
        const src = input.secrets[s.name]!.databaseUrlFor;
        const c = await credentials(input.resourceGroup, src.server);
        secrets.push({ name: s.name, value: databaseUrlOf(c, src.database, deps.ssl) });
      }
      const { spec } = input;
      const body: ContainerApp = {
        location: spec.location,
        ...(spec.environmentId
          ? { environmentId: spec.environmentId, managedEnvironmentId: spec.environmentId }
          : {}),
        ...(spec.tags ? { tags: spec.tags } : {}),
        configuration: {
          ...(spec.configuration as ContainerApp['configuration']),
          activeRevisionsMode: spec.configuration.activeRevisionsMode,
          secrets,
        },
        template: spec.template as ContainerApp['template'],
      };
      const app = await arm(`redeploy ${input.app}`, () =>
        deps.containerApps.containerApps.beginCreateOrUpdateAndWait(input.resourceGroup, input.app, body, {
          updateIntervalInMs: Math.min(deps.pollMs ?? 1000, 1000),
        }),
      );
      return { created: true, ...(app.latestRevisionName ? { latestRevision: app.latestRevisionName } : {}) };
    },
  };
}
