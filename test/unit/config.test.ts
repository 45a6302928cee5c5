import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config';

const sub = '6f1c2c1e-3a44-4b7e-9d0e-2b0f6d1a9c11';
const none = { SANDBOX_ENDPOINTS_FILE: '/nonexistent/endpoints.json' };

describe('config', () => {
  test('every bad variable is named in one message', () => {
    const env = {
      ...none,
      TEMPORAL_ADDRESS: 'no-port',
      RUNBOOK_TARGET: 'aws',
      AZURE_SUBSCRIPTION_ID: 'not-a-uuid',
      ARM_ENDPOINT: 'http://127.0.0.1:8443',
      LOG_LEVEL: 'loud',
      NOTIFY_WEBHOOK_URL: 'ftp://x',
      ARM_POLL_MS: '5',
    };
    assert.throws(
      () => loadConfig(env),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        const names = err.problems.map((p) => p.split('=')[0]);
        assert.deepEqual(names.sort(), [
          'ARM_ENDPOINT',
          'ARM_POLL_MS',
          'AZURE_SUBSCRIPTION_ID',
          'LOG_LEVEL',
          'NOTIFY_WEBHOOK_URL',
          'RUNBOOK_TARGET',
          'TEMPORAL_ADDRESS',
        ]);
        assert.match(err.message, /TEMPORAL_ADDRESS="no-port": expected host:port/);
        assert.match(err.message, /ARM_ENDPOINT="http:\/\/127.0.0.1:8443": expected an https:\/\/ URL/);
        assert.match(err.message, /AZURE_SUBSCRIPTION_ID="not-a-uuid": expected a UUID/);
        assert.match(err.message, /ARM_POLL_MS="5": expected milliseconds, 10-60000/);
        return true;
      },
    );
  });

  test('azure target requires a subscription', () => {
    assert.throws(
      () => loadConfig({ ...none, RUNBOOK_TARGET: 'azure' }),
      /AZURE_SUBSCRIPTION_ID.*required when RUNBOOK_TARGET=azure/,
    );
  });

  test('azure defaults: management.azure.com over https, production', () => {
    const c = loadConfig({
      ...none,
      RUNBOOK_TARGET: 'azure',
      AZURE_SUBSCRIPTION_ID: sub,
      NOTIFY_WEBHOOK_URL: '',
    });
    assert.equal(c.azure.endpoint, 'https://management.azure.com');
    assert.equal(c.appUrlScheme, 'https');
    assert.equal(c.environment, 'production');
    assert.equal(c.armPollMs, 5000, 'ARM throttles reads: restores are polled every 5 s');
    assert.equal(c.temporal.taskQueue, 'fluentedge-runbooks');
    assert.equal(c.notifyWebhookUrl, undefined);
  });

  test('sandbox target falls back to endpoints.json, env still wins', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    const ca = path.join(dir, 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
    const file = path.join(dir, 'endpoints.json');
    writeFileSync(
      file,
      JSON.stringify({
        subscriptionId: sub,
        resourceGroup: 'rg-fluentedge-sandbox',
        armUrl: 'https://127.0.0.1:9443',
        caFile: ca,
        temporal: { address: '127.0.0.1:7299', uiUrl: 'http://127.0.0.1:8299', namespace: 'default' },
        ingress: {},
        adminUrl: 'https://127.0.0.1:9443/_sandbox',
      }),
    );
    const c = loadConfig({ SANDBOX_ENDPOINTS_FILE: file });
    assert.equal(c.azure.subscriptionId, sub);
    assert.equal(c.azure.endpoint, 'https://127.0.0.1:9443');
    assert.equal(c.temporal.address, '127.0.0.1:7299');
    assert.equal(c.appUrlScheme, 'http');
    assert.match(c.azure.caPem ?? '', /BEGIN CERTIFICATE/);
    const overridden = loadConfig({ SANDBOX_ENDPOINTS_FILE: file, TEMPORAL_ADDRESS: '10.0.0.1:7233' });
    assert.equal(overridden.temporal.address, '10.0.0.1:7233');
  });

  test('a missing CA file is named', () => {
    assert.throws(
      () => loadConfig({ ...none, AZURE_SUBSCRIPTION_ID: sub, ARM_CA_FILE: '/nonexistent/ca.pem' }),
      /ARM_CA_FILE="\/nonexistent\/ca.pem": expected a readable PEM file/,
    );
  });
});
