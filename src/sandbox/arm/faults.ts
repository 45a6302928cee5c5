import { z } from 'zod';
import { badRequest } from './errors';

const FaultInput = z
  .object({
    method: z.string().optional(),
    path: z.string().optional(),
    status: z.number().int().min(400).max(599).optional(),
    code: z.string().optional(),
    message: z.string().optional(),
    retryAfterSeconds: z.number().int().min(0).optional(),
    latencyMs: z.number().int().min(0).optional(),
    lroFailure: z.boolean().optional(),
    count: z.number().int().min(1).default(1),
  })
  .refine((f) => f.status !== undefined || f.latencyMs !== undefined || f.lroFailure === true, {
    message: 'a fault needs status, latencyMs or lroFailure',
  });

export type Fault = z.infer<typeof FaultInput> & { id: number; remaining: number };

/** Faults injected through the admin API, each applied to the next `count` matching ARM calls. */
export class Faults {
  private list: Fault[] = [];
  private nextId = 1;

  add(input: unknown): Fault {
    const parsed = FaultInput.safeParse(input);
    if (!parsed.success) {
      throw badRequest(
        'InvalidFault',
        parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    }
    const fault: Fault = { ...parsed.data, id: this.nextId++, remaining: parsed.data.count };
    this.list.push(fault);
    return fault;
  }

  all(): Fault[] {
    return this.list;
  }

  clear(): void {
    this.list = [];
  }

  /**
   * Consumes the first fault that applies. `call` faults (status, latency) apply to any matching ARM
   * call as it arrives; `lro` faults (`lroFailure`) only to a matching call that starts an async
   * operation, which then ends Failed.
   */
  take(kind: 'call' | 'lro', method: string, path: string): Fault | undefined {
    const fault = this.list.find(
      (f) => f.remaining > 0 && (f.lroFailure === true) === (kind === 'lro') && matches(f, method, path),
    );
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.list = this.list.filter((f) => f !== fault);
    return fault;
  }
}

function matches(f: Fault, method: string, path: string): boolean {
  if (f.method && f.method.toUpperCase() !== method.toUpperCase()) return false;
  return f.path ? toMatcher(f.path)(path) : true;
}

/**
 * `/regex/flags` is a regular expression (case-insensitive); anything else, or a pattern that does
 * not compile (e.g. `/containerApps/web`), is a case-insensitive substring of the request path.
 */
function toMatcher(pattern: string): (path: string) => boolean {
  const regex = /^\/(.+)\/([dgimsuy]*)$/.exec(pattern);
  if (regex) {
    try {
      const flags = regex[2]!.replace('g', '');
      const re = new RegExp(regex[1]!, flags.includes('i') ? flags : `${flags}i`);
      return (path) => re.test(path);
    } catch {
      // not a regular expression after all
    }
  }
  const needle = pattern.toLowerCase();
  return (path) => path.toLowerCase().includes(needle);
}
