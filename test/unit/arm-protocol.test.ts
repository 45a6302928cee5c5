// The emulator's HTTP protocol edges that the SDK clients never produce (missing auth) and its
// operation/persistence bookkeeping, over raw HTTPS with in-memory backends.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type ArmEmulator, startArmEmulator } from '../../src/sandbox/arm/server';
import type { AppsBackend, RevisionRuntimeState, ServersBackend } from '../../src/sandbox/backend';

const SUB = '0f0e0d0c-0b0a-4908-8706-050403020100';
const running = new Map<string, RevisionRuntimeState>();
const traffic = new Map<string, unknown>();
const apps: AppsBackend = {
  ensureRevision: async (spec) => {
    const st: RevisionRuntimeState = {
      runningState: 'Running',
      healthState: 'Healthy',
      port: 1,
      replicas: 1,
    };
    running.set(spec.name, st);
    return st;
  },
  stopRevision: async (name) => {
    running.delete(name);
  },
  restartRevision: async (spec) => apps.ensureRevision(spec),
  revisionState: (name) => running.get(name) ?? { runningState: 'Stopped', healthState: 'None', replicas: 0 },
  setTraffic: (app, targets) => {
    traffic.set(app, targets);
  },
  ensureIngress: async () => ({ url: 'http://127.0.0.1:2', port: 2 }),
  close: async () => undefined,
};
const servers: ServersBackend = {
  create: async () => ({ state: 'Ready', host: '127.0.0.1', port: 3 }),
  start: async () => ({ state: 'Ready', host: '127.0.0.1', port: 3 }),
  stop: async () => ({ state: 'Stopped', host: '127.0.0.1', port: 3 }),
  restart: async () => ({ state: 'Ready', host: '127.0.0.1', port: 3 }),
  state: () => undefined,
  backups: async () => [],
  restore: async () => ({ state: 'Ready', host: '127.0.0.1', port: 4 }),
  backup: async () => {
    throw new Error('no backups in this fake');
  },
  delete: async () => undefined,
  close: async () => undefined,
};

let dir: string;
let emulator: ArmEmulator;

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

function call(method: string, url: string, body?: unknown, auth = true): Promise<Res> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (auth) headers['authorization'] = 'Bearer test';
    const req = https.request(new URL(url, emulator.url), { method, headers, ca: emulator.caPem }, (res) => {
      let text = '';
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : {} }),
      );
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const appUrl = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.App/containerApps/web?api-version=2025-07-01`;
const app = {
  location: 'japaneast',
  properties: {
    configuration: { activeRevisionsMode: 'Single', ingress: { targetPort: 8000 } },
    template: { containers: [{ name: 'api', image: 'acr.io/api:1' }] },
  },
};

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-arm-unit-'));
  emulator = await startArmEmulator({
    dataDir: dir,
    port: 0,
    subscriptionId: SUB,
    apps,
    servers,
    lroDelayMs: 300,
  });
});

after(async () => {
  await emulator.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('ARM calls need a Bearer token; the admin API does not', async () => {
  const res = await call('GET', appUrl, undefined, false);
  assert.equal(res.status, 401);
  assert.deepEqual(Object.keys(res.body), ['error']);
  assert.equal((res.body['error'] as { code: string }).code, 'AuthenticationFailed');
  assert.equal((await call('GET', '/_sandbox/health', undefined, false)).status, 200);
});

test('the CA is written once and reused', () => {
  assert.equal(fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8'), emulator.caPem);
});

test('PUT: 201 + Azure-AsyncOperation that stays InProgress for lroDelayMs, then Succeeded', async () => {
  assert.equal(
    (
      await call('PUT', `/subscriptions/${SUB}/resourcegroups/RG?api-version=2021-04-01`, {
        location: 'japaneast',
      })
    ).status,
    201,
  );
  const created = await call('PUT', appUrl, app);
  assert.equal(created.status, 201);
  assert.equal(created.headers['retry-after'], '1');
  const opUrl = String(created.headers['azure-asyncoperation']);
  assert.match(
    opUrl,
    /\/providers\/Microsoft\.App\/locations\/japaneast\/containerappOperationStatuses\/[0-9a-f-]{36}\?api-version=2025-07-01$/,
  );
  assert.equal((await call('GET', opUrl)).body['status'], 'InProgress');
  await new Promise((r) => setTimeout(r, 350));
  const done = await call('GET', opUrl);
  assert.equal(done.body['status'], 'Succeeded');
  assert.ok(done.body['endTime']);
  const got = await call('GET', appUrl);
  const props = got.body['properties'] as Record<string, unknown>;
  assert.equal(props['provisioningState'], 'Succeeded');
  assert.equal(props['latestRevisionName'], props['latestReadyRevisionName']);
  assert.match(String(props['latestRevisionName']), /^web--[a-z][a-z0-9]{6}$/);
  assert.deepEqual(traffic.get('web'), [{ revisionName: props['latestRevisionName'], weight: 100 }]);
});

test('Single mode: a template change moves all traffic and deactivates the old revision', async () => {
  const first = ((await call('GET', appUrl)).body['properties'] as Record<string, string>)[
    'latestRevisionName'
  ]!;
  const patched = await call('PATCH', appUrl, {
    properties: { template: { containers: [{ name: 'api', image: 'acr.io/api:2' }] } },
  });
  assert.equal(patched.status, 202);
  assert.ok(patched.headers['location']);
  await new Promise((r) => setTimeout(r, 350));
  const result = await call('GET', String(patched.headers['location']));
  assert.equal(result.status, 200, 'Location answers the resource once done');
  const latest = (result.body['properties'] as Record<string, string>)['latestRevisionName']!;
  assert.notEqual(latest, first);
  assert.equal(running.has(first), false);
  assert.deepEqual(traffic.get('web'), [{ revisionName: latest, weight: 100 }]);
});

test('state file: written atomically, mutations logged with status and body', async () => {
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'arm-state.json'), 'utf8'));
  assert.equal(Object.keys(state.apps).length, 1);
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
  );
  const log = (await call('GET', '/_sandbox/mutations?since=0')).body['mutations'] as {
    method: string;
    status: number;
  }[];
  assert.deepEqual(
    log.map((m) => `${m.method} ${m.status}`),
    ['PUT 201', 'PUT 201', 'PATCH 202'],
  );
  assert.equal((await call('GET', '/_sandbox/mutations/count')).body['count'], 3);
});
