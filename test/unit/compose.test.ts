import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { envSchema, loadConfig } from '../../src/config';

// docker-compose cannot run here (no Docker engine), so we check what we can: the worker gets
// every variable the config needs, each valid for the schema, and nothing it would ignore.

const root = path.resolve(__dirname, '../..');
const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { environment?: Record<string, string>; build?: string; depends_on?: unknown }>;
};

/** Compose interpolation: ${VAR:-default} → default, ${VAR:?err} → the value the operator must set. */
function interpolate(value: string, required: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_, name: string, op?: string, arg?: string) => {
    if (op === '?') {
      const v = required[name];
      assert.ok(v, `test must supply required variable ${name}`);
      return v;
    }
    return arg ?? '';
  });
}

test('compose defines temporal, its UI, PostgreSQL and the worker built from our Dockerfile', () => {
  for (const name of ['postgresql', 'temporal', 'temporal-ui', 'worker'])
    assert.ok(compose.services[name], name);
  assert.equal(compose.services.worker?.build, '.');
  assert.ok(existsSync(path.join(root, 'Dockerfile')));
});

test("the worker's environment is valid for the config schema", () => {
  const raw = compose.services.worker?.environment ?? {};
  const env = Object.fromEntries(
    Object.entries(raw).map(([k, v]) => [
      k,
      interpolate(String(v), { AZURE_SUBSCRIPTION_ID: '6f1c2c1e-3a44-4b7e-9d0e-2b0f6d1a9c11' }),
    ]),
  );
  // Variables the config does not read are a typo unless DefaultAzureCredential reads them.
  const known = new Set([
    ...Object.keys(envSchema.shape),
    'AZURE_TENANT_ID',
    'AZURE_CLIENT_ID',
    'AZURE_CLIENT_SECRET',
  ]);
  assert.deepEqual(
    Object.keys(env).filter((k) => !known.has(k)),
    [],
  );
  const config = loadConfig(env);
  assert.equal(config.target, 'azure');
  assert.equal(config.temporal.address, 'temporal:7233');
  assert.equal(config.temporal.taskQueue, 'fluentedge-runbooks');
  assert.equal(config.azure.endpoint, 'https://management.azure.com');
  const temporalHost = config.temporal.address.split(':')[0]!;
  assert.ok(compose.services[temporalHost], `TEMPORAL_ADDRESS points at service ${temporalHost}`);
});

test("Temporal's dynamic config is mounted from a file that exists and enables eager activities", () => {
  const temporal = compose.services.temporal as { volumes?: string[]; environment?: Record<string, string> };
  const mount = (temporal.volumes ?? []).find((v) => v.includes('dynamicconfig'));
  assert.ok(mount, 'dynamic config volume');
  const [host, container] = mount.split(':');
  const text = readFileSync(path.join(root, host!), 'utf8');
  assert.match(text, /system\.enableActivityEagerExecution:\s*\n\s*- value: true/);
  assert.ok(
    container!.endsWith(temporal.environment?.DYNAMIC_CONFIG_FILE_PATH ?? '?'),
    'DYNAMIC_CONFIG_FILE_PATH points at the mount',
  );
});
