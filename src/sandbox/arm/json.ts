import type { Json } from './store';

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export const asObject = (v: unknown): Json => (isObject(v) ? v : {});

export const clone = <T>(v: T): T => structuredClone(v);

/** RFC 7396 merge patch: objects merge key by key, `null` deletes, arrays and scalars replace. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Json = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (v !== undefined) out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Canonical JSON (sorted keys, no null/undefined members) so equal documents compare equal. */
export function canonical(v: unknown): string {
  return JSON.stringify(normalize(v));
}

function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize);
  if (!isObject(v)) return v;
  const out: Json = {};
  for (const k of Object.keys(v).sort()) {
    if (v[k] !== null && v[k] !== undefined) out[k] = normalize(v[k]);
  }
  return out;
}
