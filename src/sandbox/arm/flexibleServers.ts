import type { BaseBackup } from '../backend';
import type { Ctx, Env, Reply } from './context';
import { ArmError, badRequest, conflict, methodNotAllowed, notFound, noRoute } from './errors';
import { requireRg, resourceId } from './ids';
import { asObject, clone, isObject, mergePatch } from './json';
import { type Json, key, type ServerDoc } from './store';

const NS = 'Microsoft.DBforPostgreSQL';
const TYPE = `${NS}/flexibleServers`;
const OP_ERROR = 'InternalServerError';

// What Azure fills in when a create request leaves them out.
const DEFAULT_SKU = { name: 'Standard_B1ms', tier: 'Burstable' };
const DEFAULT_PROPERTIES: Json = {
  storage: { storageSizeGB: 32, autoGrow: 'Disabled', tier: 'P4', type: 'Premium_LRS' },
  backup: { backupRetentionDays: 7, geoRedundantBackup: 'Disabled' },
  network: { publicNetworkAccess: 'Enabled' },
  highAvailability: { mode: 'Disabled', state: 'NotEnabled' },
  authConfig: { activeDirectoryAuth: 'Disabled', passwordAuth: 'Enabled' },
  dataEncryption: { type: 'SystemManaged' },
  availabilityZone: '1',
};
// Set by the service, or secrets: never stored from a request.
const READ_ONLY = ['state', 'fullyQualifiedDomainName', 'minorVersion', 'replicationRole', 'replicaCapacity'];

/** Routes below `.../providers/Microsoft.DBforPostgreSQL/flexibleServers`. */
export async function flexibleServers(
  ctx: Ctx,
  rgName: string,
  rest: string[],
  lower: string[],
): Promise<Reply> {
  const { env } = ctx;
  const rg = requireRg(env, rgName);
  const [name, sub, backupName] = rest;
  if (name === undefined) {
    if (ctx.method !== 'GET') throw methodNotAllowed(ctx.method);
    const prefix = key(resourceId(env.subscriptionId, rg.name, TYPE, ''));
    const servers = Object.values(env.store.state.servers).filter((s) => key(s.id).startsWith(prefix));
    return { status: 200, body: { value: await Promise.all(servers.map((s) => renderServer(env, s))) } };
  }
  const id = resourceId(env.subscriptionId, rg.name, TYPE, name);
  const doc = env.store.state.servers[key(id)];
  if (sub === undefined) {
    switch (ctx.method) {
      case 'GET':
        return { status: 200, body: await renderServer(env, found(doc, name, rg.name)) };
      case 'PUT':
        return put(ctx, id, rg.name, name, doc);
      case 'PATCH':
        return update(ctx, found(doc, name, rg.name), asObject(ctx.body), 'PATCH');
      case 'DELETE':
        return doc ? remove(ctx, doc) : { status: 204 };
      default:
        throw methodNotAllowed(ctx.method);
    }
  }
  const server = found(doc, name, rg.name);
  const action = lower[1];
  if (action === 'backups' && rest.length <= 3) {
    if (ctx.method !== 'GET') throw methodNotAllowed(ctx.method);
    const backups = (await env.servers.backups(server.name)).map((b) => renderBackup(server, b));
    if (backupName === undefined) return { status: 200, body: { value: backups } };
    const backup = backups.find((b) => b.name.toLowerCase() === backupName.toLowerCase());
    if (!backup) throw notFound(`${TYPE}/backups`, `${server.name}/${backupName}`, rg.name);
    return { status: 200, body: backup };
  }
  if ((action === 'start' || action === 'stop' || action === 'restart') && rest.length === 2) {
    if (ctx.method !== 'POST') throw methodNotAllowed(ctx.method);
    return lifecycle(ctx, server, action);
  }
  throw noRoute(`${id}/${rest.slice(1).join('/')}`);
}

function found(doc: ServerDoc | undefined, name: string, rg: string): ServerDoc {
  if (!doc || doc.transient === 'Dropping') throw notFound(TYPE, name, rg);
  return doc;
}

async function put(
  ctx: Ctx,
  id: string,
  rg: string,
  name: string,
  existing: ServerDoc | undefined,
): Promise<Reply> {
  const body = asObject(ctx.body);
  const props = asObject(body['properties']);
  const mode = typeof props['createMode'] === 'string' ? props['createMode'].toLowerCase() : 'default';
  switch (mode) {
    case 'default':
    case 'create':
      return existing ? update(ctx, existing, body, 'PUT') : create(ctx, id, rg, name, body);
    case 'update':
      if (!existing) throw notFound(TYPE, name, rg);
      return update(ctx, existing, body, 'PUT');
    case 'pointintimerestore':
      return pointInTimeRestore(ctx, id, rg, name, existing, body);
    default:
      throw badRequest(
        'UnsupportedCreateMode',
        `createMode '${String(props['createMode'])}' is not supported by the sandbox emulator; use 'Create', 'Default', 'Update' or 'PointInTimeRestore'.`,
      );
  }
}

function create(ctx: Ctx, id: string, rg: string, name: string, body: Json): Reply {
  const { env } = ctx;
  if (!/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(name)) {
    throw badRequest(
      'InvalidServerName',
      `Server name '${name}' is invalid: use 3-63 lower case letters, digits and '-', not starting or ending with '-'.`,
    );
  }
  const location = body['location'];
  if (typeof location !== 'string' || location === '') {
    throw badRequest('LocationRequired', 'The location property is required for this definition.');
  }
  const props = clone(asObject(body['properties']));
  const login = props['administratorLogin'];
  const password = props['administratorLoginPassword'];
  if (typeof login !== 'string' || login === '' || typeof password !== 'string' || password === '') {
    throw badRequest(
      'InvalidParameterValue',
      'administratorLogin and administratorLoginPassword are required to create a server with password authentication.',
    );
  }
  if (/^(azure_superuser|azure_pg_admin|admin|administrator|root|guest|public)$|^pg_/i.test(login)) {
    throw badRequest(
      'InvalidParameterValue',
      `'${login}' is a reserved name and cannot be the administrator login.`,
    );
  }
  delete props['administratorLoginPassword'];
  delete props['createMode'];
  for (const f of READ_ONLY) delete props[f];
  const doc: ServerDoc = {
    id,
    name,
    resourceGroup: rg,
    location,
    tags: (body['tags'] as Record<string, string> | undefined) ?? {},
    sku: isObject(body['sku']) ? body['sku'] : { ...DEFAULT_SKU },
    properties: asObject(mergePatch(DEFAULT_PROPERTIES, { version: '17', ...props })),
    administratorLoginPassword: password,
    state: 'Provisioning',
    transient: 'Provisioning',
    createdTime: new Date().toISOString(),
  };
  env.store.state.servers[key(id)] = doc;
  const failing = ctx.lroFault();
  const op = start(env, doc, 'PUT', 'resource', async () => {
    if (failing) {
      // A failed create leaves nothing behind, as Azure rolls a failed provisioning back.
      delete env.store.state.servers[key(doc.id)];
      throw new ArmError(
        500,
        OP_ERROR,
        `Provisioning of server '${name}' failed. Error details: injected fault.`,
      );
    }
    const rt = await env.servers.create(serverSpec(doc));
    doc.port = rt.port;
    doc.state = rt.state === 'Stopped' ? 'Stopped' : 'Ready';
  });
  return { status: 202, headers: env.ops.headers(op, true) };
}

/** Tags, SKU, storage, backup and similar settings; the sandbox runtime does not depend on them. */
function update(ctx: Ctx, doc: ServerDoc, body: Json, method: 'PUT' | 'PATCH'): Reply {
  const { env } = ctx;
  if (doc.transient) {
    throw conflict(
      'ServerBusy',
      `Server '${doc.name}' is ${doc.transient.toLowerCase()}; retry when it is done.`,
    );
  }
  const props = clone(asObject(body['properties']));
  const version = props['version'];
  if (version !== undefined && String(version) !== String(doc.properties['version'])) {
    throw badRequest(
      'UnsupportedMajorVersionUpgrade',
      `The sandbox emulator cannot change the major version of '${doc.name}' from ${String(doc.properties['version'])} to ${String(version)}.`,
    );
  }
  const login = props['administratorLogin'];
  if (login !== undefined && login !== doc.properties['administratorLogin']) {
    throw badRequest('InvalidParameterValue', 'administratorLogin cannot be changed once the server exists.');
  }
  const password = props['administratorLoginPassword'];
  delete props['administratorLoginPassword'];
  delete props['createMode'];
  for (const f of READ_ONLY) delete props[f];
  const failing = ctx.lroFault();
  if (!failing) {
    doc.properties = asObject(mergePatch(doc.properties, props));
    if (isObject(body['sku'])) doc.sku = asObject(mergePatch(doc.sku, body['sku']));
    if (isObject(body['tags'])) doc.tags = body['tags'] as Record<string, string>;
    // Stored for the document only: the sandbox cluster keeps the password it was created with.
    if (typeof password === 'string' && password !== '') doc.administratorLoginPassword = password;
    doc.transient = 'Updating';
  }
  const op = start(env, doc, method, 'resource', async () => {
    if (failing)
      throw new ArmError(
        500,
        OP_ERROR,
        `Update of server '${doc.name}' failed. Error details: injected fault.`,
      );
  });
  return { status: method === 'PUT' ? 200 : 202, headers: env.ops.headers(op, true) };
}

function remove(ctx: Ctx, doc: ServerDoc): Reply {
  const { env } = ctx;
  const failing = ctx.lroFault();
  if (!failing) doc.transient = 'Dropping';
  const op = start(env, doc, 'DELETE', 'none', async () => {
    if (failing)
      throw new ArmError(
        500,
        OP_ERROR,
        `Deletion of server '${doc.name}' failed. Error details: injected fault.`,
      );
    await removeServer(env, doc);
  });
  return { status: 202, headers: env.ops.headers(op, true) };
}

/** Deletes the cluster and forgets the server (also used by resource-group deletion). */
export async function removeServer(env: Env, doc: ServerDoc): Promise<void> {
  doc.transient = 'Dropping';
  await env.servers.delete(doc.name);
  delete env.store.state.servers[key(doc.id)];
  env.store.save();
}

function lifecycle(ctx: Ctx, doc: ServerDoc, action: 'start' | 'stop' | 'restart'): Reply {
  const { env } = ctx;
  if (doc.transient) {
    throw conflict(
      'ServerBusy',
      `Server '${doc.name}' is ${doc.transient.toLowerCase()}; retry when it is done.`,
    );
  }
  if (action === 'restart' && doc.state === 'Stopped') {
    throw conflict('ServerIsStopped', `Server '${doc.name}' is stopped; start it instead of restarting it.`);
  }
  const failing = ctx.lroFault();
  if (!failing)
    doc.transient = action === 'start' ? 'Starting' : action === 'stop' ? 'Stopping' : 'Restarting';
  const op = start(env, doc, 'POST', 'none', async () => {
    if (failing)
      throw new ArmError(
        500,
        OP_ERROR,
        `Could not ${action} server '${doc.name}'. Error details: injected fault.`,
      );
    const rt = await env.servers[action](doc.name);
    doc.port = rt.port;
    doc.state = rt.state === 'Stopped' ? 'Stopped' : 'Ready';
  });
  return { status: 202, headers: env.ops.headers(op, true) };
}

function start(
  env: Env,
  doc: ServerDoc,
  method: string,
  returns: 'resource' | 'none',
  work: () => Promise<void>,
) {
  env.store.save();
  return env.ops.start({
    namespace: NS,
    location: doc.location,
    resourceId: doc.id,
    method,
    returns,
    queueKey: key(doc.id),
    errorCode: OP_ERROR,
    work: async () => {
      try {
        await work();
      } catch (e) {
        throw fromBackend(e);
      } finally {
        if (doc.transient !== 'Dropping') delete doc.transient;
        if (doc.state === 'Provisioning' && env.store.state.servers[key(doc.id)]) doc.state = 'Disabled';
        env.store.save();
      }
    },
  });
}

// The Postgres backend tags refusals with a kind (BackendError.code); report them as ARM would.
const BACKEND_CODES: Record<string, string> = {
  NotFound: 'ResourceNotFound',
  Conflict: 'Conflict',
  InvalidInput: 'InvalidParameterValue',
};

function fromBackend(e: unknown): unknown {
  if (!(e instanceof Error) || e instanceof ArmError) return e;
  const code = (e as { code?: unknown }).code;
  const arm = typeof code === 'string' ? BACKEND_CODES[code] : undefined;
  return arm ? new ArmError(400, arm, e.message) : e;
}

export function serverSpec(doc: ServerDoc) {
  return {
    name: doc.name,
    administratorLogin: String(doc.properties['administratorLogin']),
    administratorLoginPassword: doc.administratorLoginPassword,
    version: String(doc.properties['version'] ?? '17'),
    ...(doc.port ? { port: doc.port } : {}),
  };
}

export async function renderServer(env: Env, doc: ServerDoc): Promise<Json> {
  const rt = env.servers.state(doc.name);
  const port = rt?.port ?? doc.port;
  let earliest: string | undefined;
  if (doc.transient !== 'Provisioning') {
    const backups = await env.servers.backups(doc.name).catch(() => [] as BaseBackup[]);
    // Recovery cannot stop before a backup's end: the window opens at the oldest completion.
    earliest = backups.map((b) => b.completedTime).sort()[0];
  }
  const props = clone(doc.properties);
  return {
    id: doc.id,
    name: doc.name,
    type: TYPE,
    location: doc.location,
    tags: doc.tags ?? {},
    sku: doc.sku,
    systemData: { createdAt: doc.createdTime },
    properties: {
      ...props,
      state: doc.transient ?? rt?.state ?? doc.state,
      // Sandbox convention: host:port on loopback (ports differ per server), not a DNS name.
      ...(port ? { fullyQualifiedDomainName: `127.0.0.1:${port}` } : {}),
      backup: { ...asObject(props['backup']), ...(earliest ? { earliestRestoreDate: earliest } : {}) },
      replicationRole: 'Primary',
      replicaCapacity: 5,
      replica: { role: 'Primary', capacity: 5 },
    },
  };
}

function renderBackup(doc: ServerDoc, b: BaseBackup) {
  return {
    id: `${doc.id}/backups/${b.name}`,
    name: b.name,
    type: `${TYPE}/backups`,
    properties: { backupType: 'Full', completedTime: b.completedTime, source: 'Automatic' },
  };
}

// ---- createMode PointInTimeRestore ------------------------------------------------------------
// A new server restored from `properties.sourceServerResourceId` at `properties.pointInTimeUTC`:
// the source's newest base backup that finished by then plus its WAL archive, recovered and
// promoted by the ServersBackend, as a long-running operation. What Azure refuses up front is
// refused here before anything starts: an unknown source (404), a time outside
// [earliestRestoreDate, now] (400), a name already taken by another server (409). The same
// request again (same source and time) finds its server and succeeds, so a client retry after a
// crash never makes a second one.

const SOURCE_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.DBforPostgreSQL\/flexibleServers\/([^/]+)$/i;

async function pointInTimeRestore(
  ctx: Ctx,
  id: string,
  rg: string,
  name: string,
  existing: ServerDoc | undefined,
  body: Json,
): Promise<Reply> {
  const { env } = ctx;
  const props = asObject(body['properties']);
  const sourceId = props['sourceServerResourceId'];
  if (typeof sourceId !== 'string' || sourceId === '') {
    throw badRequest(
      'InvalidParameterValue',
      "sourceServerResourceId is required when createMode is 'PointInTimeRestore'.",
    );
  }
  const m = SOURCE_ID.exec(sourceId);
  if (!m || m[1]!.toLowerCase() !== env.subscriptionId.toLowerCase()) {
    throw badRequest(
      'InvalidParameterValue',
      `sourceServerResourceId '${sourceId}' is not a flexible server of subscription '${env.subscriptionId}'.`,
    );
  }
  const source = env.store.state.servers[key(sourceId)];
  if (!source || source.transient === 'Dropping' || source.transient === 'Provisioning') {
    throw notFound(TYPE, m[3]!, m[2]!);
  }
  const rawTime = props['pointInTimeUTC'];
  const at = typeof rawTime === 'string' ? new Date(rawTime) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime())) {
    throw badRequest(
      'InvalidParameterValue',
      "pointInTimeUTC is required (ISO 8601) when createMode is 'PointInTimeRestore'.",
    );
  }
  const pointInTimeUTC = at.toISOString();
  if (existing) {
    const r = existing.restoredFrom;
    if (
      r &&
      key(r.sourceServerResourceId) === key(source.id) &&
      r.pointInTimeUTC === pointInTimeUTC &&
      existing.transient !== 'Dropping'
    ) {
      // The same restore asked again: queued behind the one still running, or a no-op once Ready.
      const op = start(env, existing, 'PUT', 'resource', async () => {
        const rt = await env.servers.restore(existing.name, r.sourceName, at);
        existing.port = rt.port;
        existing.state = rt.state === 'Stopped' ? 'Stopped' : 'Ready';
      });
      return { status: 200, headers: env.ops.headers(op, true) };
    }
    throw conflict(
      'ServerAlreadyExists',
      `Server '${name}' already exists${r ? ` (restored from '${r.sourceName}' at ${r.pointInTimeUTC})` : ''}; a restore needs a new server name.`,
    );
  }
  if (!/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(name)) {
    throw badRequest(
      'InvalidServerName',
      `Server name '${name}' is invalid: use 3-63 lower case letters, digits and '-', not starting or ending with '-'.`,
    );
  }
  const backups = await env.servers.backups(source.name);
  const earliest = backups.map((b) => b.completedTime).sort()[0];
  if (at.getTime() > Date.now() || !earliest || at.getTime() < Date.parse(earliest)) {
    throw badRequest(
      'InvalidParameterValue',
      `pointInTimeUTC ${pointInTimeUTC} is outside the restore window of '${source.name}': ` +
        (earliest
          ? `between ${new Date(earliest).toISOString()} and now`
          : 'it has no completed backup yet') +
        '.',
    );
  }
  const location =
    typeof body['location'] === 'string' && body['location'] !== '' ? body['location'] : source.location;
  const own = clone(props);
  for (const f of [
    'createMode',
    'sourceServerResourceId',
    'pointInTimeUTC',
    'administratorLoginPassword',
    ...READ_ONLY,
  ])
    delete own[f];
  const doc: ServerDoc = {
    id,
    name,
    resourceGroup: rg,
    location,
    tags: (body['tags'] as Record<string, string> | undefined) ?? {},
    sku: isObject(body['sku']) ? body['sku'] : clone(source.sku),
    // A restore is a copy: version, admin login, storage and backup settings come from the source.
    properties: asObject(mergePatch(clone(source.properties), own)),
    administratorLoginPassword: source.administratorLoginPassword,
    state: 'Provisioning',
    transient: 'Provisioning',
    createdTime: new Date().toISOString(),
    restoredFrom: { sourceServerResourceId: source.id, sourceName: source.name, pointInTimeUTC },
  };
  env.store.state.servers[key(id)] = doc;
  const failing = ctx.lroFault();
  const op = start(env, doc, 'PUT', 'resource', async () => {
    try {
      if (failing)
        throw new ArmError(
          500,
          OP_ERROR,
          `Restore of server '${name}' failed. Error details: injected fault.`,
        );
      const rt = await env.servers.restore(name, source.name, at);
      doc.port = rt.port;
      doc.state = rt.state === 'Stopped' ? 'Stopped' : 'Ready';
    } catch (e) {
      // A failed restore leaves nothing behind; the same request may be sent again.
      delete env.store.state.servers[key(doc.id)];
      await env.servers.delete(name).catch(() => undefined);
      throw e;
    }
  });
  return { status: 202, headers: env.ops.headers(op, true) };
}
