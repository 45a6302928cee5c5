// Contract tests of the ARM emulator through the real SDK clients (arm-appcontainers 3.0.0,
// arm-postgresql-flexible 9.0.0) over HTTPS with the sandbox CA, backed by real revision
// processes and real PostgreSQL clusters. Only the /_sandbox admin API is called by hand.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ContainerApp, ContainerAppsAPIClient, type Revision } from '@azure/arm-appcontainers';
import { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import type { TokenCredential } from '@azure/core-auth';
import { createHttpHeaders, createPipelineRequest } from '@azure/core-rest-pipeline';
import { Client } from 'pg';
import type { AppsBackend } from '../../src/sandbox/backend';
import { createAppsBackend } from '../../src/sandbox/apps/runtime';
import { type ArmEmulator, startArmEmulator } from '../../src/sandbox/arm/server';
import { defaultBinDir, pgStop, resolveOsUser } from '../../src/sandbox/postgres/cluster';
import { createServersBackend, type PostgresServersBackend } from '../../src/sandbox/postgres/servers';

const SUB = '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
const RG = 'rg-arm-test';
const APP = 'web';
const SERVER = 'pg-arm';
const LOCATION = 'japaneast';
// Far from the sandbox's 6432-6531 and from the postgres backend test's 17400-17449.
const PG_PORTS: [number, number] = [17450, 17499];

const credential: TokenCredential = {
  getToken: async () => ({ token: 'sandbox', expiresOnTimestamp: Date.now() + 3600e3 }),
};
const POLL = { updateIntervalInMs: 50 };

let dataDir: string;
let apps: AppsBackend;
let servers: PostgresServersBackend;
let emulator: ArmEmulator;
let ca: ContainerAppsAPIClient;
let pg: PostgreSQLManagementFlexibleServerClient;
const closers: (() => Promise<void>)[] = [];

function backends(): void {
  apps = createAppsBackend({ dataDir: path.join(dataDir, 'apps'), healthPollMs: 200 });
  servers = createServersBackend({
    dataDir: path.join(dataDir, 'pg'),
    portRange: PG_PORTS,
    backupIntervalMs: 0,
    log: () => undefined,
  });
  const [a, s] = [apps, servers];
  closers.push(
    () => a.close(),
    () => s.close(),
  );
}

async function boot(): Promise<void> {
  emulator = await startArmEmulator({
    dataDir: path.join(dataDir, 'arm'),
    port: 0,
    subscriptionId: SUB,
    apps,
    servers,
    lroDelayMs: 150,
  });
  const e = emulator;
  closers.push(() => e.close());
  // The SDKs' pipelines take the CA through `tlsOptions`; NODE_EXTRA_CA_CERTS is read only at startup.
  const options = { endpoint: emulator.url, tlsOptions: { ca: emulator.caPem } };
  ca = new ContainerAppsAPIClient(credential, SUB, options);
  pg = new PostgreSQLManagementFlexibleServerClient(credential, SUB, options);
}

/** The admin API (no auth): plain HTTPS with the emulator's CA. */
function admin<T = Record<string, unknown>>(method: string, route: string, body?: unknown): Promise<T> {
  const url = new URL(route, emulator.url);
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, ca: emulator.caPem }, (res) => {
      let text = '';
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => {
        if ((res.statusCode ?? 500) >= 300)
          reject(new Error(`${method} ${route}: ${res.statusCode} ${text}`));
        else resolve((text ? JSON.parse(text) : {}) as T);
      });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const fault = (f: Record<string, unknown>) => admin('POST', '/_sandbox/faults', f);

interface Mutation {
  seq: number;
  method: string;
  path: string;
  status: number;
  body: unknown;
}

async function mutationsSince(seq: number): Promise<Mutation[]> {
  return (await admin<{ mutations: Mutation[] }>('GET', `/_sandbox/mutations?since=${seq}`)).mutations;
}

const mutationCount = async () => (await admin<{ count: number }>('GET', '/_sandbox/mutations/count')).count;

/** No ARM resource-groups SDK is pinned; the clients' own pipeline (auth, TLS) sends the PUT. */
async function putResourceGroup(name: string): Promise<number> {
  const res = await ca.sendRequest(
    createPipelineRequest({
      url: `${emulator.url}/subscriptions/${SUB}/resourcegroups/${name}?api-version=2021-04-01`,
      method: 'PUT',
      headers: createHttpHeaders({ 'content-type': 'application/json' }),
      body: JSON.stringify({ location: LOCATION }),
    }),
  );
  return res.status;
}

function appEnvelope(
  image: string,
  suffix: string,
  env: { name: string; value?: string; secretRef?: string }[] = [],
) {
  return {
    location: LOCATION,
    managedEnvironmentId: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.App/managedEnvironments/sandbox`,
    configuration: {
      activeRevisionsMode: 'Multiple',
      ingress: { external: true, targetPort: 8000 },
      secrets: [{ name: 'db-password', value: 's3cret' }],
    },
    template: {
      revisionSuffix: suffix,
      containers: [{ name: 'api', image, env }],
      scale: { minReplicas: 1, maxReplicas: 1 },
    },
  } satisfies ContainerApp;
}

async function revisions(): Promise<Map<string, Revision>> {
  const out = new Map<string, Revision>();
  for await (const r of ca.containerAppsRevisions.listRevisions(RG, APP)) out.set(r.name!, r);
  return out;
}

const weights = async () =>
  Object.fromEntries(
    [...(await revisions())].filter(([, r]) => r.active).map(([n, r]) => [n, r.trafficWeight]),
  );

async function rejectsWith(p: Promise<unknown>, statusCode: number, code: string): Promise<void> {
  await assert.rejects(p, (e: { statusCode?: number; code?: string; message?: string }) => {
    assert.equal(e.code, code, e.message);
    assert.equal(e.statusCode, statusCode, e.message);
    return true;
  });
}

async function httpGet(hostPort: string, route: string): Promise<number> {
  const res = await fetch(`http://${hostPort}${route}`);
  await res.arrayBuffer();
  return res.status;
}

before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-arm-'));
  // PostgreSQL runs as an unprivileged user and must traverse the path.
  fs.chmodSync(dataDir, 0o755);
  backends();
  await boot();
});

after(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  const id = resolveOsUser();
  const root = path.join(dataDir, 'pg', 'servers');
  for (const name of fs.existsSync(root) ? fs.readdirSync(root) : []) {
    const serverDir = path.join(root, name);
    await pgStop(
      {
        binDir: defaultBinDir(),
        id,
        serverDir,
        dataDir: path.join(serverDir, 'data'),
        logFile: path.join(serverDir, 'postgres.log'),
      },
      'immediate',
    ).catch(() => undefined);
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('ARM emulator: protocol', () => {
  test('unknown subscription, missing and unsupported api-version', async () => {
    const options = { endpoint: emulator.url, tlsOptions: { ca: emulator.caPem } };
    const other = new ContainerAppsAPIClient(credential, '11111111-2222-4333-8444-555555555555', options);
    await rejectsWith(other.containerApps.get(RG, APP), 404, 'SubscriptionNotFound');
    const old = new ContainerAppsAPIClient(credential, SUB, { ...options, apiVersion: '2024-03-01' });
    await rejectsWith(old.containerApps.get(RG, APP), 400, 'NoRegisteredProviderFound');
    const res = await ca.sendRequest(
      createPipelineRequest({
        url: `${emulator.url}/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.App/containerApps/${APP}`,
        method: 'GET',
      }),
    );
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.bodyAsText ?? '{}').error.code, 'MissingApiVersionParameter');
  });
});

describe('ARM emulator: Microsoft.App/containerApps', () => {
  test('resource groups; resources in an unknown group are ResourceGroupNotFound', async () => {
    assert.equal(await putResourceGroup(RG), 201);
    assert.equal(await putResourceGroup(RG), 200);
    await rejectsWith(ca.containerApps.get('rg-missing', APP), 404, 'ResourceGroupNotFound');
  });

  test('create: 201 + async operation, first revision gets 100%, real process and ingress', async () => {
    const before = await mutationCount();
    const app = await ca.containerApps.beginCreateOrUpdateAndWait(
      RG,
      APP,
      appEnvelope('acr.io/fluentedge-backend:1.0.0', 'v1', [
        { name: 'DB_PASSWORD', secretRef: 'db-password' },
        { name: 'LOG_LEVEL', value: 'info' },
      ]),
      POLL,
    );
    assert.equal(app.provisioningState, 'Succeeded');
    assert.equal(app.latestRevisionName, `${APP}--v1`);
    assert.equal(app.latestReadyRevisionName, `${APP}--v1`);
    assert.equal(app.configuration?.activeRevisionsMode, 'Multiple');
    assert.deepEqual(app.configuration?.ingress?.traffic, [{ latestRevision: true, weight: 100 }]);
    assert.match(app.configuration?.ingress?.fqdn ?? '', /^127\.0\.0\.1:\d+$/);
    assert.deepEqual(
      app.configuration?.secrets,
      [{ name: 'db-password' }],
      'GET never returns secret values',
    );
    const [m] = await mutationsSince(before);
    assert.equal(m?.method, 'PUT');
    assert.equal(m?.status, 201);

    const rev = (await revisions()).get(`${APP}--v1`);
    assert.equal(rev?.active, true);
    assert.equal(rev?.trafficWeight, 100);
    assert.equal(rev?.runningState, 'Running');
    assert.equal(rev?.provisioningState, 'Provisioned');
    assert.match(rev?.fqdn ?? '', /^127\.0\.0\.1:\d+$/);
    assert.equal(await httpGet(rev.fqdn!, '/'), 200);
    assert.equal(await httpGet(app.configuration?.ingress?.fqdn ?? '', '/'), 200);

    const secrets = await ca.containerApps.listSecrets(RG, APP);
    assert.deepEqual(secrets.value, [{ name: 'db-password', value: 's3cret' }]);
    assert.equal(await mutationCount(), before + 1, 'listSecrets is not a mutation');
  });

  test('get, and 404 ResourceNotFound for an unknown app or revision', async () => {
    const app = await ca.containerApps.get(RG, APP);
    assert.equal(app.name, APP);
    assert.equal(app.location, LOCATION);
    assert.equal(app.template?.containers?.[0]?.image, 'acr.io/fluentedge-backend:1.0.0');
    assert.deepEqual(app.outboundIpAddresses, ['127.0.0.1']);
    await rejectsWith(ca.containerApps.get(RG, 'nope'), 404, 'ResourceNotFound');
    await rejectsWith(
      ca.containerAppsRevisions.getRevision(RG, APP, `${APP}--nope`),
      404,
      'ResourceNotFound',
    );
  });

  test('image change: new immutable revision, Multiple mode keeps traffic on the old one', async () => {
    const app = await ca.containerApps.beginUpdateAndWait(
      RG,
      APP,
      {
        location: LOCATION,
        template: {
          revisionSuffix: 'v2',
          containers: [
            {
              name: 'api',
              image: 'acr.io/fluentedge-backend:1.1.0',
              env: [{ name: 'LOG_LEVEL', value: 'info' }],
            },
          ],
        },
      },
      POLL,
    );
    assert.equal(app.latestRevisionName, `${APP}--v2`);
    assert.deepEqual(await weights(), { [`${APP}--v1`]: 100, [`${APP}--v2`]: 0 });
    const v1 = await ca.containerAppsRevisions.getRevision(RG, APP, `${APP}--v1`);
    assert.equal(
      v1.template?.containers?.[0]?.image,
      'acr.io/fluentedge-backend:1.0.0',
      'revisions are immutable',
    );
    const v2 = await ca.containerAppsRevisions.getRevision(RG, APP, `${APP}--v2`);
    assert.equal(v2.runningState, 'Running');
  });

  test('env-only change creates a revision; secrets-only change does not', async () => {
    const current = await ca.containerApps.get(RG, APP);
    const container = current.template?.containers?.[0];
    assert.ok(container);
    await ca.containerApps.beginUpdateAndWait(
      RG,
      APP,
      {
        location: LOCATION,
        template: {
          revisionSuffix: 'v3',
          containers: [{ ...container, env: [{ name: 'LOG_LEVEL', value: 'debug' }] }],
        },
      },
      POLL,
    );
    const afterEnv = await revisions();
    assert.deepEqual([...afterEnv.keys()], [`${APP}--v1`, `${APP}--v2`, `${APP}--v3`]);

    const app = await ca.containerApps.beginUpdateAndWait(
      RG,
      APP,
      { location: LOCATION, configuration: { secrets: [{ name: 'db-password', value: 'rotated' }] } },
      POLL,
    );
    assert.equal(app.latestRevisionName, `${APP}--v3`);
    assert.equal((await revisions()).size, 3);
    assert.deepEqual((await ca.containerApps.listSecrets(RG, APP)).value, [
      { name: 'db-password', value: 'rotated' },
    ]);
  });

  test('traffic update is a long-running operation and reaches the mutation log in order', async () => {
    const seq = await mutationCount();
    const traffic = [
      { revisionName: `${APP}--v1`, weight: 90 },
      { revisionName: `${APP}--v2`, weight: 10 },
    ];
    const poller = await ca.containerApps.beginUpdate(
      RG,
      APP,
      { location: LOCATION, configuration: { ingress: { traffic } } },
      POLL,
    );
    assert.equal(poller.isDone(), false, 'PATCH answers 202 and the operation is InProgress first');
    const app = await poller.pollUntilDone();
    assert.equal(app.provisioningState, 'Succeeded');
    assert.deepEqual(
      app.configuration?.ingress?.traffic?.map(({ revisionName, weight }) => ({ revisionName, weight })),
      traffic,
    );
    assert.deepEqual(await weights(), { [`${APP}--v1`]: 90, [`${APP}--v2`]: 10, [`${APP}--v3`]: 0 });
    const [m] = await mutationsSince(seq);
    assert.equal(m?.method, 'PATCH');
    assert.equal(m?.status, 202);
    assert.deepEqual(
      (m?.body as ContainerApp & { properties: ContainerApp }).properties.configuration?.ingress?.traffic,
      traffic,
    );
  });

  test('invalid traffic and duplicate suffix are 400 with ARM codes, and change nothing', async () => {
    const seq = await mutationCount();
    const patch = (traffic: { revisionName?: string; latestRevision?: boolean; weight: number }[]) =>
      ca.containerApps.beginUpdateAndWait(
        RG,
        APP,
        { location: LOCATION, configuration: { ingress: { traffic } } },
        POLL,
      );
    await rejectsWith(
      patch([
        { revisionName: `${APP}--v1`, weight: 90 },
        { revisionName: `${APP}--v2`, weight: 5 },
      ]),
      400,
      'ContainerAppInvalidTrafficWeight',
    );
    await rejectsWith(
      patch([{ revisionName: `${APP}--ghost`, weight: 100 }]),
      400,
      'ContainerAppRevisionNotFound',
    );
    await rejectsWith(
      ca.containerApps.beginUpdateAndWait(
        RG,
        APP,
        {
          location: LOCATION,
          template: {
            revisionSuffix: 'v1',
            containers: [{ name: 'api', image: 'acr.io/fluentedge-backend:9.9.9' }],
          },
        },
        POLL,
      ),
      400,
      'ContainerAppRevisionAlreadyExists',
    );
    assert.deepEqual(await weights(), { [`${APP}--v1`]: 90, [`${APP}--v2`]: 10, [`${APP}--v3`]: 0 });
    const logged = await mutationsSince(seq);
    assert.deepEqual(
      logged.map((m) => m.status),
      [400, 400, 400],
    );
  });

  test('revisions: deactivate, activate, restart; a revision with traffic cannot be deactivated', async () => {
    const v3 = `${APP}--v3`;
    await ca.containerAppsRevisions.deactivateRevision(RG, APP, v3);
    let rev = await ca.containerAppsRevisions.getRevision(RG, APP, v3);
    assert.equal(rev.active, false);
    assert.equal(rev.runningState, 'Stopped');
    assert.equal(apps.revisionState(v3).runningState, 'Stopped');
    await ca.containerAppsRevisions.activateRevision(RG, APP, v3);
    rev = await ca.containerAppsRevisions.getRevision(RG, APP, v3);
    assert.equal(rev.active, true);
    assert.equal(rev.runningState, 'Running');
    const pid = apps.revisionState(v3).pid;
    await ca.containerAppsRevisions.restartRevision(RG, APP, v3);
    assert.notEqual(apps.revisionState(v3).pid, pid);
    await rejectsWith(
      ca.containerAppsRevisions.deactivateRevision(RG, APP, `${APP}--v1`),
      400,
      'ContainerAppRevisionHasTraffic',
    );
  });
});

describe('ARM emulator: injected faults', () => {
  test('status fault: the next matching call gets the ARM error, then calls succeed', async () => {
    await fault({
      method: 'GET',
      path: `/containerApps/${APP}`,
      status: 409,
      code: 'ContainerAppBusy',
      count: 1,
    });
    await rejectsWith(ca.containerApps.get(RG, APP), 409, 'ContainerAppBusy');
    assert.equal((await ca.containerApps.get(RG, APP)).name, APP);
    assert.deepEqual((await admin<{ faults: unknown[] }>('GET', '/_sandbox/faults')).faults, []);
  });

  test('429 with Retry-After: the SDK waits and retries', async () => {
    await fault({ method: 'GET', path: '/revisions$/', status: 429, retryAfterSeconds: 1, count: 1 });
    const started = Date.now();
    assert.equal((await revisions()).size, 3);
    assert.ok(Date.now() - started >= 950, `retried after ${Date.now() - started} ms`);
  });

  test('latency fault delays the call, then it answers normally', async () => {
    await fault({ method: 'GET', path: `/containerApps/${APP}`, latencyMs: 600, count: 1 });
    const started = Date.now();
    assert.equal((await ca.containerApps.get(RG, APP)).name, APP);
    assert.ok(Date.now() - started >= 600);
  });

  test('LRO failure: the operation ends Failed, the app is Failed and unchanged', async () => {
    await fault({ method: 'PATCH', path: `/containerApps/${APP}`, lroFailure: true, count: 1 });
    // core-lro reports a Failed operation as an Error carrying the operation's code and message.
    await assert.rejects(
      ca.containerApps.beginUpdateAndWait(
        RG,
        APP,
        {
          location: LOCATION,
          template: {
            revisionSuffix: 'v4',
            containers: [{ name: 'api', image: 'acr.io/fluentedge-backend:1.2.0' }],
          },
        },
        POLL,
      ),
      /The long-running operation has failed\. ContainerAppOperationError\. .*injected fault/,
    );
    const app = await ca.containerApps.get(RG, APP);
    assert.equal(app.provisioningState, 'Failed');
    assert.equal(app.latestRevisionName, `${APP}--v3`);
    assert.equal((await revisions()).size, 3);

    const healed = await ca.containerApps.beginUpdateAndWait(
      RG,
      APP,
      { location: LOCATION, tags: { healed: 'yes' } },
      POLL,
    );
    assert.equal(healed.provisioningState, 'Succeeded');
  });
});

describe('ARM emulator: Microsoft.DBforPostgreSQL/flexibleServers', () => {
  const login = 'feadmin';
  const password = 'Sandbox-Pa55!';

  test('create (createMode Create) runs a real cluster; get reports Ready on 127.0.0.1:<port>', async () => {
    const created = await pg.servers.beginCreateOrUpdateAndWait(
      RG,
      SERVER,
      {
        location: LOCATION,
        sku: { name: 'Standard_B1ms', tier: 'Burstable' },
        administratorLogin: login,
        administratorLoginPassword: password,
        version: '17',
        createMode: 'Create',
        storage: { storageSizeGB: 32 },
      },
      POLL,
    );
    assert.equal(created.state, 'Ready');
    const server = await pg.servers.get(RG, SERVER);
    assert.equal(server.administratorLogin, login);
    assert.equal(server.administratorLoginPassword, undefined);
    const [host, port] = (server.fullyQualifiedDomainName ?? '').split(':');
    assert.equal(host, '127.0.0.1');
    const client = new Client({ host, port: Number(port), user: login, password, database: 'postgres' });
    await client.connect();
    try {
      assert.equal((await client.query('SELECT 1 AS one')).rows[0].one, 1);
    } finally {
      await client.end();
    }
    const listed = [];
    for await (const s of pg.servers.listByResourceGroup(RG)) listed.push(s.name);
    assert.deepEqual(listed, [SERVER]);
  });

  test('point-in-time restore: a real LRO into a new server; source, window and name are checked first', async () => {
    const sourceServerResourceId = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${SERVER}`;
    const source = await pg.servers.get(RG, SERVER);
    const [host, port] = (source.fullyQualifiedDomainName ?? '').split(':');
    const connect = async (p: string | undefined) => {
      const c = new Client({ host, port: Number(p), user: login, password, database: 'postgres' });
      await c.connect();
      return c;
    };
    const client = await connect(port);
    let target: Date;
    try {
      await client.query('CREATE TABLE pitr (id int PRIMARY KEY)');
      await client.query('INSERT INTO pitr SELECT generate_series(1, 10)');
      target = (await client.query<{ t: Date }>("SELECT now() + interval '1 millisecond' AS t")).rows[0]!.t;
      await new Promise((r) => setTimeout(r, 50));
      await client.query('INSERT INTO pitr SELECT generate_series(11, 15)');
    } finally {
      await client.end();
    }
    const restore = (name: string, at: Date, from = sourceServerResourceId) =>
      pg.servers.beginCreateOrUpdateAndWait(
        RG,
        name,
        {
          location: LOCATION,
          createMode: 'PointInTimeRestore',
          sourceServerResourceId: from,
          pointInTimeUTC: at,
        },
        POLL,
      );
    const before = await mutationCount();
    await rejectsWith(restore(`${SERVER}-f`, new Date(Date.now() + 3600e3)), 400, 'InvalidParameterValue');
    await rejectsWith(restore(`${SERVER}-e`, new Date(Date.now() - 86400e3)), 400, 'InvalidParameterValue');
    await rejectsWith(
      restore(`${SERVER}-x`, target, sourceServerResourceId.replace(/pg-arm$/, 'nope')),
      404,
      'ResourceNotFound',
    );
    await rejectsWith(restore(SERVER, target), 409, 'ServerAlreadyExists');
    assert.equal(servers.state(`${SERVER}-f`), undefined, 'nothing was started for a refused restore');

    const restored = await restore(`${SERVER}-r`, target);
    assert.equal(restored.state, 'Ready');
    assert.notEqual(restored.fullyQualifiedDomainName, source.fullyQualifiedDomainName);
    assert.equal(restored.administratorLogin, login);
    const rc = await connect(restored.fullyQualifiedDomainName?.split(':')[1]);
    try {
      assert.equal(Number((await rc.query('SELECT count(*) AS n FROM pitr')).rows[0].n), 10);
    } finally {
      await rc.end();
    }
    // Retry-safe: the same request finds the same server; another time for that name is a conflict.
    const again = await restore(`${SERVER}-r`, target);
    assert.equal(again.fullyQualifiedDomainName, restored.fullyQualifiedDomainName);
    await rejectsWith(restore(`${SERVER}-r`, new Date(target.getTime() - 1)), 409, 'ServerAlreadyExists');
    assert.ok((await mutationCount()) > before);
    await pg.servers.beginDeleteAndWait(RG, `${SERVER}-r`, POLL);
    assert.equal(servers.state(`${SERVER}-r`), undefined);
  });

  test('stop, start and restart are long-running operations on the real cluster', async () => {
    await pg.servers.beginStopAndWait(RG, SERVER, POLL);
    assert.equal((await pg.servers.get(RG, SERVER)).state, 'Stopped');
    assert.equal(servers.state(SERVER)?.state, 'Stopped');
    await rejectsWith(pg.servers.beginRestartAndWait(RG, SERVER, POLL), 409, 'ServerIsStopped');
    await pg.servers.beginStartAndWait(RG, SERVER, POLL);
    assert.equal((await pg.servers.get(RG, SERVER)).state, 'Ready');
    await pg.servers.beginRestartAndWait(RG, SERVER, POLL);
    assert.equal(servers.state(SERVER)?.state, 'Ready');
  });

  test('backups list maps the base backups; earliestRestoreDate is the oldest completion', async () => {
    const first = await servers.backup(SERVER);
    const second = await servers.backup(SERVER);
    const listed = [];
    for await (const b of pg.backupsAutomaticAndOnDemand.listByServer(RG, SERVER)) listed.push(b);
    const names = listed.map((b) => b.name);
    assert.ok(names.includes(first.name) && names.includes(second.name), names.join(','));
    assert.equal(
      listed.find((b) => b.name === first.name)?.completedTime?.toISOString(),
      new Date(first.completedTime).toISOString(),
    );
    assert.equal(listed[0]?.backupType, 'Full');
    const all = await servers.backups(SERVER);
    const oldest = all.map((b) => b.completedTime).sort()[0]!;
    const server = await pg.servers.get(RG, SERVER);
    assert.equal(server.backup?.earliestRestoreDate?.toISOString(), new Date(oldest).toISOString());
  });
});

describe('ARM emulator: persistence', () => {
  test('close + start on the same dataDir (fresh backends) keeps every resource and the runtime', async () => {
    const count = await mutationCount();
    const fqdn = (await pg.servers.get(RG, SERVER)).fullyQualifiedDomainName;
    for (const close of closers.splice(0).reverse()) await close();
    backends();
    await boot();

    assert.equal(await mutationCount(), count);
    const app = await ca.containerApps.get(RG, APP);
    assert.equal(app.latestRevisionName, `${APP}--v3`);
    assert.deepEqual(await weights(), { [`${APP}--v1`]: 90, [`${APP}--v2`]: 10, [`${APP}--v3`]: 0 });
    const v1 = await ca.containerAppsRevisions.getRevision(RG, APP, `${APP}--v1`);
    assert.equal(v1.runningState, 'Running');
    assert.equal(await httpGet(v1.fqdn!, '/'), 200);
    assert.equal(await httpGet(app.configuration?.ingress?.fqdn ?? '', '/'), 200);
    assert.deepEqual((await ca.containerApps.listSecrets(RG, APP)).value, [
      { name: 'db-password', value: 'rotated' },
    ]);

    const server = await pg.servers.get(RG, SERVER);
    assert.equal(server.state, 'Ready');
    assert.equal(server.fullyQualifiedDomainName, fqdn, 'the port is kept');
  });

  test('delete: app and server go away (404 after the operation)', async () => {
    await ca.containerApps.beginDeleteAndWait(RG, APP, POLL);
    await rejectsWith(ca.containerApps.get(RG, APP), 404, 'ResourceNotFound');
    assert.equal(apps.revisionState(`${APP}--v1`).runningState, 'Stopped');
    await pg.servers.beginDeleteAndWait(RG, SERVER, POLL);
    await rejectsWith(pg.servers.get(RG, SERVER), 404, 'ResourceNotFound');
    assert.equal(servers.state(SERVER), undefined);
  });
});
