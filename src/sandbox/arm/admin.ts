import type { Env, Reply } from './context';
import { badRequest, methodNotAllowed, noRoute } from './errors';
import type { Faults } from './faults';

/**
 * `/_sandbox/...`: the test and operator side door (no auth). Mutation log for assertions,
 * fault injection for the next N matching ARM calls, and a health probe.
 */
export async function admin(env: Env, faults: Faults, method: string, url: URL, raw: string): Promise<Reply> {
  const route = url.pathname.replace(/\/+$/, '');
  const { state } = env.store;
  switch (route) {
    case '/_sandbox/health':
      only(method, 'GET');
      return {
        status: 200,
        body: {
          status: 'ok',
          subscriptionId: env.subscriptionId,
          resourceGroups: Object.keys(state.resourceGroups).length,
          containerApps: Object.keys(state.apps).length,
          flexibleServers: Object.keys(state.servers).length,
          mutations: state.seq,
        },
      };
    case '/_sandbox/mutations': {
      only(method, 'GET');
      const since = Number(url.searchParams.get('since') ?? 0);
      if (!Number.isFinite(since)) throw badRequest('InvalidParameter', "'since' must be a sequence number.");
      return { status: 200, body: { mutations: state.mutations.filter((m) => m.seq > since) } };
    }
    case '/_sandbox/mutations/count':
      only(method, 'GET');
      return { status: 200, body: { count: state.seq } };
    case '/_sandbox/faults':
      if (method === 'GET') return { status: 200, body: { faults: faults.all() } };
      if (method === 'DELETE') {
        const cleared = faults.all().length;
        faults.clear();
        return { status: 200, body: { cleared } };
      }
      only(method, 'POST');
      try {
        return { status: 201, body: faults.add(JSON.parse(raw || '{}')) };
      } catch (e) {
        if (e instanceof SyntaxError) throw badRequest('InvalidRequestContent', e.message);
        throw e;
      }
    default:
      throw noRoute(url.pathname);
  }
}

function only(method: string, allowed: string): void {
  if (method !== allowed) throw methodNotAllowed(method);
}
