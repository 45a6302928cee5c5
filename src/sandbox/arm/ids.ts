import type { Env } from './context';
import { ArmError } from './errors';
import { key, type ResourceGroupDoc } from './store';

export const rgId = (sub: string, rg: string) => `/subscriptions/${sub}/resourceGroups/${rg}`;

export const resourceId = (sub: string, rg: string, type: string, name: string) =>
  `${rgId(sub, rg)}/providers/${type}/${name}`;

/** The resource group as created (its stored casing), or ARM's 404 ResourceGroupNotFound. */
export function requireRg(env: Env, name: string): ResourceGroupDoc {
  const rg = env.store.state.resourceGroups[key(name)];
  if (!rg) throw new ArmError(404, 'ResourceGroupNotFound', `Resource group '${name}' could not be found.`);
  return rg;
}
