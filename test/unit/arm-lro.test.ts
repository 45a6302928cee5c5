// Long-running operations' long poll: a held status poll answers when the operation ends, or
// InProgress once the hold runs out, never later.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Serial } from '../../src/sandbox/arm/context';
import { Operations } from '../../src/sandbox/arm/lro';
import { Store } from '../../src/sandbox/arm/store';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-lro-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const ops = (delayMs: number) => new Operations(new Store(dir), new Serial(), delayMs, {});
const start = (o: Operations, work: () => Promise<void>, key = 'k') =>
  o.start({
    namespace: 'Microsoft.DBforPostgreSQL',
    location: 'japaneast',
    resourceId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/x',
    method: 'PUT',
    returns: 'resource',
    queueKey: key,
    errorCode: 'InternalServerError',
    work,
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a held poll returns as soon as the operation ends, with its outcome', async () => {
  const o = ops(0);
  let ended = 0;
  const op = start(o, async () => {
    await sleep(300);
    ended = Date.now();
  });
  await o.settle(op, 10_000);
  const heard = Date.now();
  assert.equal(o.status(op), 'Succeeded');
  assert.ok(
    ended > 0 && heard - ended < 1_000,
    `heard ${heard - ended} ms after the end, not at the hold's end`,
  );

  const failing = start(o, async () => {
    await sleep(100);
    throw new Error('disk full');
  });
  await o.settle(failing, 10_000);
  assert.equal(o.status(failing), 'Failed');
  assert.equal(failing.error?.message, 'disk full');
});

test('a held poll of a longer operation answers InProgress when the hold runs out', async () => {
  const o = ops(0);
  let finish!: () => void;
  const op = start(
    o,
    () =>
      new Promise<void>((r) => {
        finish = r;
      }),
    'long',
  );
  const t = Date.now();
  await o.settle(op, 200);
  assert.equal(o.status(op), 'InProgress');
  assert.ok(Date.now() - t >= 190, 'it waited for the hold');
  finish();
  await o.settle(op, 10_000);
  assert.equal(o.status(op), 'Succeeded');
});

test('the minimum InProgress time (lroDelayMs) is still honoured by a held poll', async () => {
  const o = ops(400);
  const t = Date.now();
  const op = start(o, async () => undefined, 'delayed');
  await o.settle(op, 10_000);
  assert.equal(o.status(op), 'Succeeded');
  assert.ok(Date.now() - t >= 390, 'not before the operation may report success');
});
