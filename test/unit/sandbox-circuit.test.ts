import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Circuit } from '../../src/sandbox/apps/circuit';

test('circuit: 3 failures open it, cool-down half-opens it, one trial decides', () => {
  let now = 1_000_000;
  const c = new Circuit({ failureThreshold: 3, openMs: 30_000, now: () => now });
  assert.equal(c.state, 'closed');
  for (let i = 0; i < 2; i++) {
    assert.equal(c.tryAcquire(), true);
    c.failure('HTTP 503');
  }
  assert.equal(c.state, 'closed');
  c.success();
  assert.equal(c.snapshot().consecutiveFailures, 0, 'a success resets the count');
  for (let i = 0; i < 3; i++) c.failure('HTTP 503');
  assert.equal(c.state, 'open');
  assert.equal(c.tryAcquire(), false);
  assert.equal(c.snapshot().retryAt, new Date(now + 30_000).toISOString());

  now += 29_999;
  assert.equal(c.state, 'open');
  now += 1;
  assert.equal(c.state, 'half_open');
  assert.equal(c.tryAcquire(), true, 'the trial goes out');
  assert.equal(c.tryAcquire(), false, 'only one trial at a time');
  c.failure('timeout');
  assert.equal(c.state, 'open', 'a failed trial re-opens');
  assert.equal(c.snapshot().lastError, 'timeout');

  now += 30_000;
  assert.equal(c.tryAcquire(), true);
  c.success();
  assert.equal(c.state, 'closed');
  assert.equal(c.tryAcquire(), true);
  assert.equal(c.tryAcquire(), true, 'closed lets everything through');
});
