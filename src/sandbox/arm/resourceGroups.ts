import { removeApp } from './containerApps';
import type { Ctx, Reply } from './context';
import { badRequest, methodNotAllowed } from './errors';
import { removeServer } from './flexibleServers';
import { requireRg, rgId } from './ids';
import { asObject } from './json';
import { key, type ResourceGroupDoc } from './store';

/** `/subscriptions/{sub}/resourcegroups[/{rg}]` in the Microsoft.Resources shape, any api-version. */
export async function resourceGroups(ctx: Ctx, name: string | undefined): Promise<Reply> {
  const { env } = ctx;
  const groups = env.store.state.resourceGroups;
  if (name === undefined) {
    if (ctx.method !== 'GET') throw methodNotAllowed(ctx.method);
    return { status: 200, body: { value: Object.values(groups).map((g) => render(ctx, g)) } };
  }
  switch (ctx.method) {
    case 'GET':
      return { status: 200, body: render(ctx, requireRg(env, name)) };
    case 'PUT': {
      const body = asObject(ctx.body);
      const existing = groups[key(name)];
      if (!/^[-\w.()]{1,90}$/.test(name) || name.endsWith('.')) {
        throw badRequest(
          'InvalidResourceGroup',
          `The provided resource group name '${name}' has invalid characters.`,
        );
      }
      const location = typeof body['location'] === 'string' ? body['location'] : existing?.location;
      if (!location)
        throw badRequest('LocationRequired', 'The location property is required for this definition.');
      if (existing && existing.location.toLowerCase() !== location.toLowerCase()) {
        throw badRequest(
          'InvalidResourceGroupLocation',
          `Invalid resource group location '${location}'. The Resource group already exists in location '${existing.location}'.`,
        );
      }
      const doc: ResourceGroupDoc = {
        name: existing?.name ?? name,
        location: existing?.location ?? location,
        tags: (body['tags'] as Record<string, string> | undefined) ?? existing?.tags ?? {},
      };
      groups[key(name)] = doc;
      env.store.save();
      return { status: existing ? 200 : 201, body: render(ctx, doc) };
    }
    case 'DELETE': {
      const rg = groups[key(name)];
      if (!rg) return { status: 404, body: notFoundBody(name) };
      const prefix = `${key(rgId(env.subscriptionId, rg.name))}/`;
      const op = env.ops.start({
        namespace: 'Microsoft.Resources',
        location: rg.location,
        resourceId: rgId(env.subscriptionId, rg.name),
        method: 'DELETE',
        returns: 'none',
        queueKey: key(rgId(env.subscriptionId, rg.name)),
        errorCode: 'ResourceGroupDeletionBlocked',
        work: async () => {
          // Azure deletes everything inside a resource group with it.
          for (const app of Object.values(env.store.state.apps)) {
            if (key(app.id).startsWith(prefix)) await removeApp(env, app);
          }
          for (const server of Object.values(env.store.state.servers)) {
            if (key(server.id).startsWith(prefix)) await removeServer(env, server);
          }
          delete groups[key(name)];
          env.store.save();
        },
      });
      const { ['Azure-AsyncOperation']: _, ...headers } = env.ops.headers(op, true);
      return { status: 202, headers };
    }
    default:
      throw methodNotAllowed(ctx.method);
  }
}

function render(ctx: Ctx, g: ResourceGroupDoc) {
  return {
    id: rgId(ctx.env.subscriptionId, g.name),
    name: g.name,
    type: 'Microsoft.Resources/resourceGroups',
    location: g.location,
    tags: g.tags ?? {},
    properties: { provisioningState: 'Succeeded' },
  };
}

const notFoundBody = (name: string) => ({
  error: { code: 'ResourceGroupNotFound', message: `Resource group '${name}' could not be found.` },
});
