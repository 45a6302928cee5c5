import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ingress } from '../../src/sandbox/apps/ingress';
import { codeClass, IngressMetrics, parseMetrics } from '../../src/sandbox/apps/metrics';

test('codeClass', () => {
  assert.deepEqual([200, 204, 301, 404, 499, 500, 503, 100].map(codeClass), [
    '2xx',
    '2xx',
    '3xx',
    '4xx',
    '4xx',
    '5xx',
    '5xx',
    '1xx',
  ]);
});

test('metrics render Prometheus counters and a cumulative histogram per revision', () => {
  const m = new IngressMetrics('fluentedge-backend');
  m.record('app--a', 200, 0.004);
  m.record('app--a', 200, 0.2);
  m.record('app--a', 503, 4);
  m.record('app--b', 404, 12);
  m.recordUnrouted();
  const text = m.render(
    new Map([
      ['app--a', 90],
      ['app--b', 10],
    ]),
  );
  assert.match(text, /# TYPE sandbox_ingress_requests_total counter/);
  assert.match(text, /# TYPE sandbox_ingress_request_duration_seconds histogram/);
  const s = parseMetrics(text);
  const get = (name: string, labels: Record<string, string>) =>
    s.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value;
  const a = { app: 'fluentedge-backend', revision: 'app--a' };
  assert.equal(get('sandbox_ingress_requests_total', { ...a, code_class: '2xx' }), 2);
  assert.equal(get('sandbox_ingress_requests_total', { ...a, code_class: '5xx' }), 1);
  assert.equal(get('sandbox_ingress_requests_total', { revision: 'app--b', code_class: '4xx' }), 1);
  assert.equal(get('sandbox_ingress_request_duration_seconds_bucket', { ...a, le: '0.005' }), 1);
  assert.equal(get('sandbox_ingress_request_duration_seconds_bucket', { ...a, le: '0.25' }), 2);
  assert.equal(get('sandbox_ingress_request_duration_seconds_bucket', { ...a, le: '3' }), 2);
  assert.equal(get('sandbox_ingress_request_duration_seconds_bucket', { ...a, le: '5' }), 3);
  assert.equal(get('sandbox_ingress_request_duration_seconds_bucket', { revision: 'app--b', le: '10' }), 0);
  assert.equal(get('sandbox_ingress_request_duration_seconds_bucket', { revision: 'app--b', le: '+Inf' }), 1);
  assert.equal(get('sandbox_ingress_request_duration_seconds_count', a), 3);
  assert.equal(get('sandbox_ingress_request_duration_seconds_sum', a), 4.204);
  assert.equal(get('sandbox_ingress_unrouted_requests_total', { app: 'fluentedge-backend' }), 1);
  assert.equal(get('sandbox_ingress_traffic_weight', { revision: 'app--b' }), 10);
  assert.deepEqual(m.counts(), { 'app--a': { '2xx': 2, '5xx': 1 }, 'app--b': { '4xx': 1 } });
});

test('label values are escaped and parsed back', () => {
  const m = new IngressMetrics('we"ird\\app');
  m.record('r', 200, 0.01);
  const row = parseMetrics(m.render()).find((x) => x.name === 'sandbox_ingress_requests_total');
  assert.equal(row?.labels['app'], 'we"ird\\app');
});

test('ingress pick follows weights over running revisions only', () => {
  const running = new Map([
    ['a', 1001],
    ['b', 1002],
  ]);
  const ing = new Ingress({ app: 'x', portOf: (n) => running.get(n) });
  ing.setTraffic([
    { revisionName: 'a', weight: 90 },
    { revisionName: 'b', weight: 10 },
    { revisionName: 'c', weight: 0 },
  ]);
  assert.equal(ing.pick(() => 0)?.revision, 'a');
  assert.equal(ing.pick(() => 0.8999)?.revision, 'a');
  assert.equal(ing.pick(() => 0.9)?.revision, 'b');
  assert.equal(ing.pick(() => 0.9999)?.revision, 'b');
  running.delete('a');
  assert.deepEqual(
    ing.pick(() => 0),
    { revision: 'b', port: 1002 },
    'a stopped revision gets nothing',
  );
  running.delete('b');
  assert.equal(ing.pick(), undefined);
});
