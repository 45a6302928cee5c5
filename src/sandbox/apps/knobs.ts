// Fault and latency knobs of a sandbox revision. They start from the process env and can be
// changed at runtime through POST /_sandbox/knobs, so a test can break a revision that is
// already taking traffic without creating a new one.
import { z } from 'zod';

export interface Knobs {
  /** Share of API requests answered with 500, 0..1. */
  errorRate: number;
  /** Extra latency added to every API request. */
  latencyMs: number;
  /** `unhealthy` forces /health to 503 whatever the dependencies say. */
  health: 'auto' | 'unhealthy';
}

export const knobsPatch = z
  .object({
    errorRate: z.number().min(0).max(1),
    latencyMs: z.number().int().min(0).max(600_000),
    health: z.enum(['auto', 'unhealthy']),
  })
  .partial()
  .strict();

function num(raw: string | undefined, min: number, max: number, name: string): number {
  if (raw === undefined || raw.trim() === '') return 0;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new Error(`${name} must be a number in ${min}..${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

export function knobsFromEnv(env: NodeJS.ProcessEnv): Knobs {
  return {
    errorRate: num(env['SANDBOX_ERROR_RATE'], 0, 1, 'SANDBOX_ERROR_RATE'),
    latencyMs: Math.round(num(env['SANDBOX_LATENCY_MS'], 0, 600_000, 'SANDBOX_LATENCY_MS')),
    health: env['SANDBOX_HEALTH']?.toLowerCase() === 'unhealthy' ? 'unhealthy' : 'auto',
  };
}
