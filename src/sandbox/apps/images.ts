// Sandbox configuration: which image tags rehearse which failure. A release is rehearsed by
// pushing a tag such as `1.5.0-faulty`; nothing in the runbooks knows about this table.

export interface ImageBehaviour {
  /** Matches when the image tag ends with this text. */
  tagSuffix: string;
  /** Knob env vars the revision gets unless its own env sets them. */
  env: Record<string, string>;
}

export const defaultImages: ImageBehaviour[] = [
  { tagSuffix: '-faulty', env: { SANDBOX_ERROR_RATE: '0.2' } },
  { tagSuffix: '-slow', env: { SANDBOX_LATENCY_MS: '4000' } },
];

/** The tag of `registry/repo:tag[@digest]`; '' for digest-only or untagged references. */
export function imageTag(image: string): string {
  const ref = image.split('@')[0] ?? '';
  const name = ref.slice(ref.lastIndexOf('/') + 1);
  const colon = name.lastIndexOf(':');
  return colon < 0 ? '' : name.slice(colon + 1);
}

/** Knob env for an image: the first matching rule's env, overridden by the revision's own env. */
export function imageEnv(
  image: string,
  revisionEnv: Record<string, string> = {},
  images: ImageBehaviour[] = defaultImages,
): Record<string, string> {
  const tag = imageTag(image);
  const rule = tag ? images.find((r) => tag.endsWith(r.tagSuffix)) : undefined;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(rule?.env ?? {})) {
    if (!(k in revisionEnv)) env[k] = v;
  }
  return env;
}
