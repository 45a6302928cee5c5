import { randomBytes } from 'node:crypto';
import type { RevisionSpec, TrafficTarget } from '../backend';
import type { Ctx, Env, Reply } from './context';
import { ArmError, badRequest, conflict, methodNotAllowed, notFound, noRoute } from './errors';
import { requireRg, resourceId } from './ids';
import { asObject, canonical, clone, isObject, mergePatch } from './json';
import { type AppDoc, type Json, key, type RevisionDoc, type SecretDoc, type TrafficDoc } from './store';

const NS = 'Microsoft.App';
const TYPE = `${NS}/containerApps`;
const OP_ERROR = 'ContainerAppOperationError';

// Server-computed fields a client may echo back after a GET; never stored.
const READ_ONLY = [
  'provisioningState',
  'runningState',
  'runningStatus',
  'latestRevisionName',
  'latestReadyRevisionName',
  'latestRevisionFqdn',
  'customDomainVerificationId',
  'outboundIpAddresses',
  'eventStreamEndpoint',
];

/** Routes below `.../providers/Microsoft.App/containerApps`; `rest` are the segments after it. */
export async function containerApps(
  ctx: Ctx,
  rgName: string,
  rest: string[],
  lower: string[],
): Promise<Reply> {
  const rg = requireRg(ctx.env, rgName);
  const [name, sub, revName, action] = rest;
  if (name === undefined) {
    if (ctx.method !== 'GET') throw methodNotAllowed(ctx.method);
    const prefix = key(`${resourceId(ctx.env.subscriptionId, rg.name, TYPE, '')}`);
    const apps = Object.values(ctx.env.store.state.apps).filter((a) => key(a.id).startsWith(prefix));
    return { status: 200, body: { value: await Promise.all(apps.map((a) => renderApp(ctx.env, a))) } };
  }
  const id = resourceId(ctx.env.subscriptionId, rg.name, TYPE, name);
  const doc = ctx.env.store.state.apps[key(id)];
  if (sub === undefined) {
    switch (ctx.method) {
      case 'GET':
        return { status: 200, body: await renderApp(ctx.env, found(doc, name, rg.name)) };
      case 'PUT':
        return write(ctx, id, rg.name, name, doc, 'PUT');
      case 'PATCH':
        return write(ctx, id, rg.name, name, found(doc, name, rg.name), 'PATCH');
      case 'DELETE':
        return doc ? remove(ctx, doc) : { status: 204 };
      default:
        throw methodNotAllowed(ctx.method);
    }
  }
  const app = found(doc, name, rg.name);
  if (lower[1] === 'listsecrets' && rest.length === 2) {
    if (ctx.method !== 'POST') throw methodNotAllowed(ctx.method);
    return { status: 200, body: { value: app.secrets.map((s) => ({ ...s })) } };
  }
  if ((lower[1] === 'start' || lower[1] === 'stop') && rest.length === 2) {
    if (ctx.method !== 'POST') throw methodNotAllowed(ctx.method);
    return startStop(ctx, app, lower[1]);
  }
  if (lower[1] !== 'revisions' || rest.length > 4) throw noRoute(`${id}/${rest.slice(1).join('/')}`);
  if (revName === undefined) {
    if (ctx.method !== 'GET') throw methodNotAllowed(ctx.method);
    return { status: 200, body: { value: app.revisions.map((r) => renderRevision(ctx.env, app, r)) } };
  }
  const rev = app.revisions.find((r) => r.name.toLowerCase() === revName.toLowerCase());
  if (!rev) throw notFound(`${TYPE}/revisions`, `${app.name}/${revName}`, rg.name);
  if (action === undefined) {
    if (ctx.method !== 'GET') throw methodNotAllowed(ctx.method);
    return { status: 200, body: renderRevision(ctx.env, app, rev) };
  }
  if (ctx.method !== 'POST') throw methodNotAllowed(ctx.method);
  return revisionAction(ctx.env, app, rev, lower[3] ?? '');
}

function found(doc: AppDoc | undefined, name: string, rg: string): AppDoc {
  if (!doc || doc.provisioningState === 'Deleting') throw notFound(TYPE, name, rg);
  return doc;
}

/** PUT (create/replace) and PATCH (merge): validate now, answer with an async operation. */
function write(
  ctx: Ctx,
  id: string,
  rg: string,
  name: string,
  existing: AppDoc | undefined,
  method: 'PUT' | 'PATCH',
): Reply {
  const { env } = ctx;
  const body = asObject(ctx.body);
  if (existing?.provisioningState === 'Deleting') {
    throw conflict('ContainerAppOperationInProgress', `Container app '${name}' is being deleted.`);
  }
  if (!existing && !/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/.test(name)) {
    throw badRequest(
      'ContainerAppInvalidName',
      `Invalid ContainerApp name '${name}'. A name must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character and cannot have '--'. The length must not be more than 32 characters.`,
    );
  }
  if (!existing && name.includes('--')) {
    throw badRequest(
      'ContainerAppInvalidName',
      `Invalid ContainerApp name '${name}': it cannot contain '--'.`,
    );
  }
  const location = typeof body['location'] === 'string' ? body['location'] : existing?.location;
  if (!location)
    throw badRequest('LocationRequired', 'The location property is required for this definition.');

  const sent = asObject(body['properties']);
  const props = asObject(method === 'PATCH' ? mergePatch(withSecrets(existing!), sent) : clone(sent));
  for (const f of READ_ONLY) delete props[f];
  const config = asObject(props['configuration']);
  props['configuration'] = config;

  const secrets = resolveSecrets(config['secrets'], existing?.secrets ?? []);
  delete config['secrets'];

  const mode = revisionsMode(config['activeRevisionsMode']);
  config['activeRevisionsMode'] = mode;

  const template = asObject(props['template']);
  props['template'] = template;
  validateTemplate(template, secrets);

  const now = new Date().toISOString();
  const revisions = clone(existing?.revisions ?? []);
  const latest = revisions.at(-1);
  const suffix =
    typeof template['revisionSuffix'] === 'string' && template['revisionSuffix'] !== ''
      ? template['revisionSuffix']
      : undefined;
  const templateChanged =
    !latest ||
    canonical(withoutSuffix(latest.template)) !== canonical(withoutSuffix(template)) ||
    (suffix !== undefined && suffix !== latest.suffix);
  let created: RevisionDoc | undefined;
  if (templateChanged) {
    created = newRevision(name, suffix, template, revisions, now);
    revisions.push(created);
    if (mode === 'Single') for (const r of revisions) if (r !== created) r.active = false;
  } else if (mode === 'Single') {
    for (const r of revisions) r.active = r === latest;
  }

  const ingress = isObject(config['ingress']) ? config['ingress'] : undefined;
  if (ingress) {
    const sentIngress = asObject(asObject(sent['configuration'])['ingress']);
    const explicit = Array.isArray(sentIngress['traffic']) && sentIngress['traffic'].length > 0;
    delete ingress['fqdn'];
    ingress['traffic'] = planTraffic(mode, explicit ? sentIngress['traffic'] : existingTraffic(existing), {
      explicit,
      previousLatest: created && latest ? latest.name : undefined,
    });
    validateTraffic(ingress['traffic'] as TrafficDoc[], revisions);
  }

  const doc: AppDoc = {
    id: existing?.id ?? id,
    name: existing?.name ?? name,
    resourceGroup: existing?.resourceGroup ?? rg,
    location: existing?.location ?? location,
    tags: (body['tags'] as Record<string, string> | undefined) ?? existing?.tags ?? {},
    identity: isObject(body['identity']) ? body['identity'] : existing?.identity,
    provisioningState: 'InProgress',
    createdTime: existing?.createdTime ?? now,
    lastModifiedTime: now,
    properties: props,
    secrets,
    revisions,
  };

  if (ctx.lroFault()) {
    // An injected failure leaves the app as it was, marked Failed, like a rejected deployment.
    const failed = existing ?? { ...doc, revisions: doc.revisions.map((r) => ({ ...r, active: false })) };
    failed.provisioningState = 'Failed';
    env.store.state.apps[key(id)] = failed;
    return respond(ctx, failed, method, !existing, async () => {
      throw new ArmError(
        500,
        OP_ERROR,
        `Failed to provision revision for container app '${name}'. Error details: injected fault.`,
      );
    });
  }

  env.store.state.apps[key(id)] = doc;
  return respond(ctx, doc, method, !existing, () => sync(env, doc));
}

function respond(
  ctx: Ctx,
  doc: AppDoc,
  method: 'PUT' | 'PATCH',
  create: boolean,
  work: () => Promise<void>,
): Reply {
  const { env } = ctx;
  env.store.save();
  const op = env.ops.start({
    namespace: NS,
    location: doc.location,
    resourceId: doc.id,
    method,
    returns: 'resource',
    queueKey: key(doc.id),
    errorCode: OP_ERROR,
    work: async () => {
      try {
        await work();
        doc.provisioningState = 'Succeeded';
      } catch (e) {
        doc.provisioningState = 'Failed';
        throw e;
      } finally {
        env.store.save();
      }
    },
  });
  if (method === 'PATCH') return { status: 202, headers: env.ops.headers(op, true) };
  return { status: create ? 201 : 200, headers: env.ops.headers(op, false), body: renderSync(doc) };
}

function remove(ctx: Ctx, doc: AppDoc): Reply {
  const { env } = ctx;
  const failing = ctx.lroFault();
  const op = env.ops.start({
    namespace: NS,
    location: doc.location,
    resourceId: doc.id,
    method: 'DELETE',
    returns: 'none',
    queueKey: key(doc.id),
    errorCode: OP_ERROR,
    work: async () => {
      if (failing) {
        doc.provisioningState = 'Failed';
        env.store.save();
        throw new ArmError(
          500,
          OP_ERROR,
          `Failed to delete container app '${doc.name}'. Error details: injected fault.`,
        );
      }
      await removeApp(env, doc);
    },
  });
  if (!failing) doc.provisioningState = 'Deleting';
  env.store.save();
  return { status: 202, headers: env.ops.headers(op, true) };
}

/** Stops every revision and forgets the app (also used by resource-group deletion). */
export async function removeApp(env: Env, doc: AppDoc): Promise<void> {
  doc.provisioningState = 'Deleting';
  for (const r of doc.revisions) await env.apps.stopRevision(r.name);
  delete env.store.state.apps[key(doc.id)];
  env.store.save();
}

/**
 * Makes the runtime match the document: active revisions running, the ingress split by the
 * effective weights, inactive revisions stopped — in that order, so traffic never points at a
 * revision that is not up yet or has just been stopped.
 */
export async function sync(env: Env, doc: AppDoc): Promise<void> {
  // A stopped app keeps every revision down through updates, until POST .../start.
  if (doc.stopped) {
    for (const rev of doc.revisions) await env.apps.stopRevision(rev.name);
    env.store.save();
    return;
  }
  let failure: { rev: RevisionDoc; message: string } | undefined;
  for (const rev of doc.revisions.filter((r) => r.active)) {
    try {
      await env.apps.ensureRevision(revisionSpec(doc, rev));
      rev.provisioningState = 'Provisioned';
      delete rev.provisioningError;
    } catch (e) {
      rev.provisioningState = 'Failed';
      rev.provisioningError = e instanceof Error ? e.message : String(e);
      failure ??= { rev, message: rev.provisioningError };
    }
  }
  if (ingressOf(doc)) {
    await env.apps.ensureIngress(doc.name);
    env.apps.setTraffic(doc.name, effectiveTraffic(doc));
  }
  for (const rev of doc.revisions.filter((r) => !r.active)) await env.apps.stopRevision(rev.name);
  env.store.save();
  if (failure) {
    throw new ArmError(
      500,
      OP_ERROR,
      `Failed to provision revision for container app '${doc.name}'. Error details: revision '${failure.rev.name}': ${failure.message}`,
    );
  }
}

async function revisionAction(env: Env, app: AppDoc, rev: RevisionDoc, action: string): Promise<Reply> {
  const mode = app.properties['configuration']
    ? revisionsMode(asObject(app.properties['configuration'])['activeRevisionsMode'])
    : 'Single';
  switch (action) {
    case 'activate':
      if (mode === 'Single' && rev !== app.revisions.at(-1)) {
        throw badRequest(
          'ContainerAppRevisionModeSingle',
          `Cannot activate revision '${rev.name}': container app '${app.name}' is in Single revision mode.`,
        );
      }
      rev.active = true;
      rev.lastActiveTime = new Date().toISOString();
      env.store.save();
      await env.serial.run(key(app.id), () => sync(env, app));
      return { status: 200 };
    case 'deactivate': {
      const weight = effectiveTraffic(app).find((t) => t.revisionName === rev.name)?.weight ?? 0;
      if (weight > 0) {
        throw badRequest(
          'ContainerAppRevisionHasTraffic',
          `Cannot deactivate revision '${rev.name}': it receives ${weight}% of the traffic. Move its traffic to another revision first.`,
        );
      }
      rev.active = false;
      env.store.save();
      await env.serial.run(key(app.id), () => env.apps.stopRevision(rev.name));
      return { status: 200 };
    }
    case 'restart':
      if (!rev.active) {
        throw badRequest(
          'ContainerAppRevisionInactive',
          `Cannot restart revision '${rev.name}': it is not active.`,
        );
      }
      await env.serial.run(key(app.id), () => env.apps.restartRevision(revisionSpec(app, rev)));
      return { status: 200 };
    default:
      throw noRoute(`${app.id}/revisions/${rev.name}/${action}`);
  }
}

function newRevision(
  app: string,
  suffix: string | undefined,
  template: Json,
  revisions: RevisionDoc[],
  now: string,
): RevisionDoc {
  const taken = new Set(revisions.map((r) => r.suffix.toLowerCase()));
  let chosen = suffix;
  while (chosen === undefined || (suffix === undefined && taken.has(chosen))) chosen = generatedSuffix();
  const name = `${app}--${chosen}`;
  if (!/^[a-z][a-z0-9-]*[a-z0-9]$/.test(name) || name.length > 54) {
    throw badRequest(
      'ContainerAppInvalidRevisionName',
      `Revision name has an invalid value '${name}'. A revision name must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character. The length of the revision name must not be more than a combined 54 characters with the container app name.`,
    );
  }
  if (taken.has(chosen.toLowerCase())) {
    throw badRequest(
      'ContainerAppRevisionAlreadyExists',
      `Revision '${name}' already exists; a template change needs a new revisionSuffix (revisions are immutable).`,
    );
  }
  return {
    name,
    suffix: chosen,
    createdTime: now,
    lastActiveTime: now,
    active: true,
    provisioningState: 'Provisioning',
    template: clone(template),
  };
}

function generatedSuffix(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(7);
  // Starts with a letter so the revision name stays valid whatever the app name.
  return [...bytes].map((b, i) => alphabet[b % (i === 0 ? 26 : alphabet.length)]).join('');
}

const withoutSuffix = (template: Json): Json => {
  const { revisionSuffix: _, ...rest } = template;
  return rest;
};

function withSecrets(doc: AppDoc): Json {
  const props = clone(doc.properties);
  asObject(props['configuration'])['secrets'] = doc.secrets.map(({ value: _, ...s }) => s);
  return props;
}

/** Secrets given without a value keep the stored one (a GET-modify-PUT never sees values). */
function resolveSecrets(sent: unknown, stored: SecretDoc[]): SecretDoc[] {
  if (sent === undefined || sent === null) return clone(stored);
  if (!Array.isArray(sent))
    throw badRequest('ContainerAppInvalidSchema', 'configuration.secrets must be an array.');
  const out: SecretDoc[] = [];
  for (const raw of sent) {
    const s = asObject(raw);
    const name = s['name'];
    if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9.-]*[a-z0-9]$|^[a-z0-9]$/.test(name)) {
      throw badRequest(
        'ContainerAppSecretInvalid',
        `Invalid secret name '${String(name)}': lower case alphanumeric characters, '-' or '.', starting and ending with an alphanumeric character.`,
      );
    }
    const value = typeof s['value'] === 'string' ? s['value'] : stored.find((x) => x.name === name)?.value;
    const keyVaultUrl = typeof s['keyVaultUrl'] === 'string' ? s['keyVaultUrl'] : undefined;
    if (value === undefined && !keyVaultUrl) {
      throw badRequest('ContainerAppSecretInvalid', `Secret '${name}' needs a value or a keyVaultUrl.`);
    }
    out.push({
      name,
      ...(value !== undefined ? { value } : {}),
      ...(keyVaultUrl ? { keyVaultUrl } : {}),
      ...(typeof s['identity'] === 'string' ? { identity: s['identity'] } : {}),
    });
  }
  return out;
}

function revisionsMode(v: unknown): 'Single' | 'Multiple' {
  if (v === undefined || v === null) return 'Single';
  if (typeof v === 'string' && /^single$/i.test(v)) return 'Single';
  if (typeof v === 'string' && /^multiple$/i.test(v)) return 'Multiple';
  throw badRequest(
    'ContainerAppInvalidActiveRevisionsMode',
    `Invalid activeRevisionsMode '${String(v)}'; expected 'Single' or 'Multiple'.`,
  );
}

function validateTemplate(template: Json, secrets: SecretDoc[]): void {
  const containers = template['containers'];
  if (!Array.isArray(containers) || containers.length === 0) {
    throw badRequest(
      'ContainerAppInvalidSchema',
      'properties.template.containers must list at least one container.',
    );
  }
  for (const [i, raw] of containers.entries()) {
    const c = asObject(raw);
    if (typeof c['image'] !== 'string' || c['image'] === '') {
      throw badRequest(
        'ContainerAppImageRequired',
        `properties.template.containers[${i}].image is required.`,
      );
    }
    if (typeof c['name'] !== 'string' || c['name'] === '') {
      throw badRequest('ContainerAppInvalidSchema', `properties.template.containers[${i}].name is required.`);
    }
    for (const e of Array.isArray(c['env']) ? c['env'] : []) {
      const ref = asObject(e)['secretRef'];
      if (typeof ref === 'string' && !secrets.some((s) => s.name === ref)) {
        throw badRequest(
          'ContainerAppSecretRefNotFound',
          `Container '${String(c['name'])}' references secret '${ref}' which is not defined in configuration.secrets.`,
        );
      }
    }
  }
}

function existingTraffic(doc: AppDoc | undefined): unknown {
  return doc ? asObject(ingressOf(doc))['traffic'] : undefined;
}

/**
 * The traffic list to store. Single mode always sends everything to the latest revision. In
 * Multiple mode, a new revision must not take traffic implicitly: weights that followed
 * `latestRevision` stay on the previous latest unless this request set the weights itself.
 */
function planTraffic(
  mode: 'Single' | 'Multiple',
  traffic: unknown,
  opts: { explicit: boolean; previousLatest: string | undefined },
): TrafficDoc[] {
  if (mode === 'Single') return [{ latestRevision: true, weight: 100 }];
  if (!Array.isArray(traffic) || traffic.length === 0) return [{ latestRevision: true, weight: 100 }];
  return traffic.map((raw) => {
    const t = asObject(raw);
    const weight = t['weight'] ?? 0;
    if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > 100) {
      throw badRequest(
        'ContainerAppInvalidTrafficWeight',
        `Traffic weight '${String(weight)}' must be an integer 0-100.`,
      );
    }
    const latest = t['latestRevision'] === true;
    // Rendered like Azure: a pinned entry says `latestRevision: false` explicitly.
    const out: TrafficDoc = { weight };
    if (latest && !opts.explicit && opts.previousLatest) out.revisionName = opts.previousLatest;
    else if (latest) out.latestRevision = true;
    else if (typeof t['revisionName'] === 'string') out.revisionName = t['revisionName'];
    if (!out.latestRevision) out.latestRevision = false;
    if (typeof t['label'] === 'string') out.label = t['label'];
    return out;
  });
}

function validateTraffic(traffic: TrafficDoc[], revisions: RevisionDoc[]): void {
  const seen = new Set<string>();
  for (const t of traffic) {
    if (t.latestRevision) {
      if (t.revisionName) {
        throw badRequest(
          'ContainerAppInvalidTraffic',
          'A traffic entry cannot set both latestRevision and revisionName.',
        );
      }
      if (seen.has('latest'))
        throw badRequest('ContainerAppInvalidTraffic', 'latestRevision appears more than once.');
      seen.add('latest');
      continue;
    }
    if (!t.revisionName) {
      throw badRequest(
        'ContainerAppInvalidTraffic',
        'Each traffic entry needs revisionName or latestRevision: true.',
      );
    }
    const rev = revisions.find((r) => r.name.toLowerCase() === t.revisionName!.toLowerCase());
    if (!rev) {
      throw badRequest(
        'ContainerAppRevisionNotFound',
        `Traffic names revision '${t.revisionName}', which does not exist.`,
      );
    }
    if (!rev.active) {
      throw badRequest(
        'ContainerAppRevisionInactive',
        `Traffic names revision '${rev.name}', which is not active.`,
      );
    }
    if (seen.has(key(rev.name))) {
      throw badRequest(
        'ContainerAppInvalidTraffic',
        `Revision '${rev.name}' appears more than once in traffic.`,
      );
    }
    seen.add(key(rev.name));
    t.revisionName = rev.name;
  }
  const total = traffic.reduce((sum, t) => sum + t.weight, 0);
  if (total !== 100) {
    throw badRequest(
      'ContainerAppInvalidTrafficWeight',
      `The sum of traffic weights must be 100, but it is ${total}: ${traffic.map((t) => `${t.revisionName ?? 'latestRevision'}=${t.weight}`).join(', ')}.`,
    );
  }
}

function ingressOf(doc: AppDoc): Json | undefined {
  const ingress = asObject(doc.properties['configuration'])['ingress'];
  return isObject(ingress) ? ingress : undefined;
}

/** Weights by revision name, `latestRevision` resolved; what the ingress actually applies. */
export function effectiveTraffic(doc: AppDoc): TrafficTarget[] {
  const latest = doc.revisions.at(-1);
  const ingress = ingressOf(doc);
  if (!latest || !ingress) return [];
  const weights = new Map<string, number>();
  for (const t of (ingress['traffic'] as TrafficDoc[] | undefined) ?? []) {
    const name = t.latestRevision ? latest.name : t.revisionName;
    if (name) weights.set(name, (weights.get(name) ?? 0) + t.weight);
  }
  return [...weights].map(([revisionName, weight]) => ({ revisionName, weight }));
}

export function revisionSpec(doc: AppDoc, rev: RevisionDoc): RevisionSpec {
  const container = asObject((rev.template['containers'] as unknown[] | undefined)?.[0]);
  const env: Record<string, string> = {};
  for (const raw of Array.isArray(container['env']) ? container['env'] : []) {
    const e = asObject(raw);
    if (typeof e['name'] !== 'string') continue;
    const ref = e['secretRef'];
    env[e['name']] =
      typeof ref === 'string'
        ? (doc.secrets.find((s) => s.name === ref)?.value ?? '')
        : typeof e['value'] === 'string'
          ? e['value']
          : '';
  }
  return { app: doc.name, name: rev.name, image: String(container['image'] ?? ''), env };
}

const hostPort = (port: number | undefined) => (port ? `127.0.0.1:${port}` : '');

/** The initial PUT response: no runtime lookups, the operation has not run yet. */
function renderSync(doc: AppDoc, ingressPort?: number, env?: Env): Json {
  const latest = doc.revisions.at(-1);
  const ready = [...doc.revisions].reverse().find((r) => r.provisioningState === 'Provisioned');
  const config = clone(asObject(doc.properties['configuration']));
  config['secrets'] = doc.secrets.map(({ value: _, ...s }) => s);
  if (isObject(config['ingress'])) {
    // Sandbox convention: fqdn is host:port on loopback; activities add the configured scheme.
    config['ingress']['fqdn'] = hostPort(ingressPort);
  }
  const running = env
    ? doc.revisions.some((r) => r.active && env.apps.revisionState(r.name).runningState === 'Running')
    : false;
  return {
    id: doc.id,
    name: doc.name,
    type: TYPE,
    location: doc.location,
    tags: doc.tags ?? {},
    ...(doc.identity ? { identity: doc.identity } : {}),
    systemData: { createdAt: doc.createdTime, lastModifiedAt: doc.lastModifiedTime },
    properties: {
      ...doc.properties,
      provisioningState: doc.provisioningState,
      runningState: doc.provisioningState === 'InProgress' ? 'Progressing' : running ? 'Running' : 'Stopped',
      // What the Microsoft.App API (and so the SDK's ContainerApp.runningStatus) calls it.
      runningStatus: doc.provisioningState === 'InProgress' ? 'Progressing' : running ? 'Running' : 'Stopped',
      latestRevisionName: latest?.name ?? '',
      latestReadyRevisionName: ready?.name ?? '',
      latestRevisionFqdn: latest && env ? hostPort(env.apps.revisionState(latest.name).port) : '',
      outboundIpAddresses: ['127.0.0.1'],
      customDomainVerificationId: 'sandbox',
      configuration: config,
      template: clone(asObject(doc.properties['template'])),
    },
  };
}

export async function renderApp(env: Env, doc: AppDoc): Promise<Json> {
  const port = ingressOf(doc) ? (await env.apps.ensureIngress(doc.name)).port : undefined;
  return renderSync(doc, port, env);
}

function renderRevision(env: Env, app: AppDoc, rev: RevisionDoc): Json {
  const state = env.apps.revisionState(rev.name);
  const weight = effectiveTraffic(app).find((t) => t.revisionName === rev.name)?.weight ?? 0;
  return {
    id: `${app.id}/revisions/${rev.name}`,
    name: rev.name,
    type: `${TYPE}/revisions`,
    properties: {
      createdTime: rev.createdTime,
      lastActiveTime: rev.lastActiveTime,
      // Sandbox convention: the revision's direct host:port on loopback.
      fqdn: rev.active ? hostPort(state.port) : '',
      template: clone(rev.template),
      active: rev.active,
      replicas: rev.active ? state.replicas : 0,
      trafficWeight: weight,
      ...(rev.provisioningError ? { provisioningError: rev.provisioningError } : {}),
      healthState: rev.active ? state.healthState : 'None',
      provisioningState: rev.provisioningState,
      runningState: rev.active ? state.runningState : 'Stopped',
    },
  };
}

// ---- POST .../start and .../stop (Microsoft.App containerApps start/stop) ------------------------
// Stop takes every revision down (they keep their active flag and traffic) and keeps them down
// through later updates; start brings the active ones back. Both are long-running operations that
// end with the app, like Azure's.

function startStop(ctx: Ctx, doc: AppDoc, action: 'start' | 'stop'): Reply {
  const { env } = ctx;
  if (doc.provisioningState === 'Deleting') {
    throw conflict('ContainerAppOperationInProgress', `Container app '${doc.name}' is being deleted.`);
  }
  const failing = ctx.lroFault();
  const op = env.ops.start({
    namespace: NS,
    location: doc.location,
    resourceId: doc.id,
    method: 'POST',
    returns: 'resource',
    queueKey: key(doc.id),
    errorCode: OP_ERROR,
    work: async () => {
      if (failing) {
        throw new ArmError(
          500,
          OP_ERROR,
          `Failed to ${action} container app '${doc.name}'. Error details: injected fault.`,
        );
      }
      if (action === 'stop') doc.stopped = true;
      else delete doc.stopped;
      env.store.save();
      await sync(env, doc);
    },
  });
  return { status: 202, headers: env.ops.headers(op, true) };
}
