import { z } from 'zod';

// Durations as operators write them ("10m", "1h30m", "45s", "500ms"); Temporal accepts the same
// strings for timers, and we need milliseconds for arithmetic (expiry, RTO, windows).

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const whole = /^(\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

export function parseDuration(text: string): number | undefined {
  if (!whole.test(text)) return undefined;
  let total = 0;
  for (const [, n, unit] of text.matchAll(part)) total += Number(n) * (unitMs[unit ?? ''] ?? 0);
  return Math.round(total);
}

export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const out: string[] = [];
  let rest = Math.round(ms);
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (rest >= size) {
      out.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0) out.push(`${rest}ms`);
  return out.join('');
}

/** A duration string with bounds, e.g. `duration({ max: '7d' })`; parses to milliseconds. */
export function duration(bounds: { min?: string; max?: string } = {}) {
  const min = bounds.min ? parseDuration(bounds.min)! : 0;
  const max = bounds.max ? parseDuration(bounds.max)! : Number.POSITIVE_INFINITY;
  return z.string({ message: 'expected a duration like "10m", "1h30m", "45s"' }).transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a duration like "10m", "1h30m", "45s", got "${text}"`,
      });
      return z.NEVER;
    }
    if (ms < min || ms > max) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a duration between ${bounds.min ?? '0s'} and ${bounds.max ?? 'forever'}, got "${text}"`,
      });
      return z.NEVER;
    }
    return ms;
  });
}
