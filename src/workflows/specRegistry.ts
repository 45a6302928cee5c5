import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { type KnownGoodSpec, specKey } from '../domain/restore';

// The last known-good container-app spec per app (id `spec-registry`), recorded after every
// successful promotion by the `recordKnownGoodSpec` activity and read by fullOutageRecovery when
// an app is gone. It keeps secret NAMES (and Key Vault references) only, never values.

export const recordSignal = defineSignal<[KnownGoodSpec]>('record');
export const getQuery = defineQuery<KnownGoodSpec | null, [string]>('get');
export const listQuery = defineQuery<{ key: string; recordedAt: string; image?: string }[]>('list');

export interface SpecRegistryState {
  specs?: Record<string, { current: KnownGoodSpec; previous?: KnownGoodSpec }>;
}

const same = (a: KnownGoodSpec, b: KnownGoodSpec) => JSON.stringify(a.spec) === JSON.stringify(b.spec);

export async function specRegistry(state: SpecRegistryState = {}): Promise<void> {
  const specs = { ...(state.specs ?? {}) };
  setHandler(
    recordSignal,
    (entry) => {
      const key = specKey(entry.resourceGroup, entry.app);
      const cur = specs[key];
      if (cur && same(cur.current, entry)) {
        specs[key] = { ...cur, current: { ...cur.current, recordedAt: entry.recordedAt } };
        return;
      }
      specs[key] = { current: entry, ...(cur ? { previous: cur.current } : {}) };
    },
    { description: 'Record a known-good spec: {resourceGroup, app, recordedAt, spec}' },
  );
  setHandler(getQuery, (key) => specs[key.toLowerCase()]?.current ?? null, {
    description: 'The last known-good spec of "<resourceGroup>/<app>", or null',
  });
  setHandler(
    listQuery,
    () =>
      Object.entries(specs).map(([key, v]) => ({
        key,
        recordedAt: v.current.recordedAt,
        ...(v.current.image ? { image: v.current.image } : {}),
      })),
    { description: 'Every app with a recorded spec' },
  );
  // Lives as long as there are promotions; history stays small by continuing as new.
  await condition(() => workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  await continueAsNew<typeof specRegistry>({ specs });
}
