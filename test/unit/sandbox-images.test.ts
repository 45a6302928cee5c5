import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultImages, type ImageBehaviour, imageEnv, imageTag } from '../../src/sandbox/apps/images';
import { knobsFromEnv } from '../../src/sandbox/apps/knobs';

test('imageTag reads the tag of registry references', () => {
  const cases: [string, string][] = [
    ['fluentedge.azurecr.io/fluentedge-backend:1.4.2', '1.4.2'],
    ['localhost:5000/fluentedge-backend:1.5.0-faulty', '1.5.0-faulty'],
    ['localhost:5000/fluentedge-backend', ''],
    ['fluentedge-backend:2.0-slow@sha256:abc', '2.0-slow'],
    ['fluentedge-backend@sha256:abc', ''],
  ];
  for (const [image, tag] of cases) assert.equal(imageTag(image), tag, image);
});

test('imageEnv maps tag suffixes to knobs; the revision env wins', () => {
  const cases: { image: string; env?: Record<string, string>; want: Record<string, string> }[] = [
    { image: 'acr.io/fluentedge-backend:1.4.2', want: {} },
    { image: 'acr.io/fluentedge-backend:1.5.0-faulty', want: { SANDBOX_ERROR_RATE: '0.2' } },
    { image: 'acr.io/fluentedge-backend:1.5.0-slow', want: { SANDBOX_LATENCY_MS: '4000' } },
    { image: 'acr.io/fluentedge-backend:1.5.0-faulty', env: { SANDBOX_ERROR_RATE: '0' }, want: {} },
    {
      image: 'acr.io/fluentedge-backend:1.5.0-slow',
      env: { SANDBOX_ERROR_RATE: '0.5' },
      want: { SANDBOX_LATENCY_MS: '4000' },
    },
    // The suffix is matched on the tag only, not on the repository name.
    { image: 'acr.io/backend-faulty:1.0.0', want: {} },
    { image: 'acr.io/backend-faulty', want: {} },
  ];
  for (const c of cases) assert.deepEqual(imageEnv(c.image, c.env, defaultImages), c.want, c.image);
});

test('imageEnv takes a custom table; the first matching rule applies', () => {
  const table: ImageBehaviour[] = [
    { tagSuffix: '-broken', env: { SANDBOX_FAIL_START: '1' } },
    { tagSuffix: 'n', env: { SANDBOX_HEALTH: 'unhealthy' } },
  ];
  assert.deepEqual(imageEnv('x:1-broken', {}, table), { SANDBOX_FAIL_START: '1' });
  assert.deepEqual(imageEnv('x:1-faulty', {}, table), {});
});

test('knobsFromEnv parses and rejects out-of-range values', () => {
  assert.deepEqual(knobsFromEnv({}), { errorRate: 0, latencyMs: 0, health: 'auto' });
  assert.deepEqual(
    knobsFromEnv({ SANDBOX_ERROR_RATE: '0.2', SANDBOX_LATENCY_MS: '4000', SANDBOX_HEALTH: 'Unhealthy' }),
    {
      errorRate: 0.2,
      latencyMs: 4000,
      health: 'unhealthy',
    },
  );
  assert.throws(() => knobsFromEnv({ SANDBOX_ERROR_RATE: '1.5' }), /SANDBOX_ERROR_RATE/);
  assert.throws(() => knobsFromEnv({ SANDBOX_LATENCY_MS: 'slow' }), /SANDBOX_LATENCY_MS/);
});
