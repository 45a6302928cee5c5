// Fault matching and merge-patch semantics of the ARM emulator, without a server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ArmError } from '../../src/sandbox/arm/errors';
import { Faults } from '../../src/sandbox/arm/faults';
import { canonical, mergePatch } from '../../src/sandbox/arm/json';

const APP_PATH = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/containerApps/web';

test('a fault applies to the next N matching calls only', () => {
  const faults = new Faults();
  faults.add({ method: 'patch', path: '/containerapps/WEB', status: 503, count: 2 });
  assert.equal(faults.take('call', 'GET', APP_PATH), undefined, 'method must match');
  assert.equal(
    faults.take('call', 'PATCH', `${APP_PATH}2`.replace('web2', 'api')),
    undefined,
    'path must match',
  );
  assert.equal(faults.take('call', 'PATCH', APP_PATH)?.status, 503);
  assert.equal(faults.all()[0]?.remaining, 1);
  assert.equal(faults.take('call', 'PATCH', APP_PATH)?.status, 503);
  assert.equal(faults.take('call', 'PATCH', APP_PATH), undefined);
  assert.deepEqual(faults.all(), []);
});

test('/regex/ paths; a path that is not a valid regex is a substring', () => {
  const faults = new Faults();
  faults.add({ path: '/revisions\\/[^/]+\\/restart$/', status: 409 });
  faults.add({ path: '/containerApps/web', latencyMs: 10 });
  assert.equal(faults.take('call', 'POST', `${APP_PATH}/revisions/web--v1/restart`)?.status, 409);
  assert.equal(faults.take('call', 'GET', APP_PATH)?.latencyMs, 10);
});

test('lroFailure faults wait for a call that starts an operation', () => {
  const faults = new Faults();
  faults.add({ path: 'containerApps', lroFailure: true });
  assert.equal(faults.take('call', 'PATCH', APP_PATH), undefined);
  assert.equal(faults.take('lro', 'PATCH', APP_PATH)?.lroFailure, true);
  assert.equal(faults.take('lro', 'PATCH', APP_PATH), undefined);
});

test('invalid faults are ARM 400s naming the problem', () => {
  const faults = new Faults();
  assert.throws(
    () => faults.add({ path: 'x' }),
    (e: ArmError) =>
      e.status === 400 && e.code === 'InvalidFault' && /status, latencyMs or lroFailure/.test(e.message),
  );
  assert.throws(
    () => faults.add({ status: 200 }),
    (e: ArmError) => e.code === 'InvalidFault' && /status/.test(e.message),
  );
});

test('mergePatch: objects merge, null deletes, arrays replace', () => {
  const base = {
    configuration: { ingress: { targetPort: 80, traffic: [{ weight: 100 }] }, dapr: { on: true } },
  };
  const patched = mergePatch(base, {
    configuration: { ingress: { traffic: [{ weight: 50 }, { weight: 50 }] }, dapr: null },
  });
  assert.deepEqual(patched, {
    configuration: { ingress: { targetPort: 80, traffic: [{ weight: 50 }, { weight: 50 }] } },
  });
  assert.deepEqual(base.configuration.ingress.traffic, [{ weight: 100 }], 'the target is not mutated');
});

test('canonical JSON ignores key order and null members', () => {
  assert.equal(canonical({ b: 1, a: { d: null, c: [2, 1] } }), canonical({ a: { c: [2, 1] }, b: 1 }));
  assert.notEqual(canonical({ a: [1, 2] }), canonical({ a: [2, 1] }));
});
