import { z } from 'zod';

// One validation path for every entry point: the workflow's first step, the CLI before it
// starts anything, and signal/update payloads. The message names every bad field.

export class InputError extends Error {
  constructor(
    readonly problems: string[],
    readonly what = 'input',
  ) {
    super(`invalid ${what}: ${problems.join('; ')}`);
  }
}

export function fieldProblems(error: z.ZodError): string[] {
  return error.issues.map((i) => {
    const field = i.path.length > 0 ? i.path.map(String).join('.') : '(root)';
    if (i.code === 'unrecognized_keys') {
      const prefix = i.path.length > 0 ? `${i.path.map(String).join('.')}.` : '';
      return i.keys.map((k) => `${prefix}${k}: unknown field`).join('; ');
    }
    return `${field}: ${i.message}`;
  });
}

export function parseInput<S extends z.ZodType>(schema: S, raw: unknown, what = 'input'): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new InputError(fieldProblems(parsed.error), what);
  return parsed.data;
}

// Azure naming rules, so a typo fails here and not halfway through a runbook.
export const appName = z
  .string({ message: 'expected a container app name' })
  .regex(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/, {
    message: 'expected a container app name (2-32 lowercase letters, digits, hyphens)',
  });
export const resourceGroupName = z
  .string({ message: 'expected a resource group name' })
  .regex(/^[-\w._()]{1,89}[-\w_()]$/, {
    message: 'expected a resource group name (1-90 letters, digits, -_.())',
  });
export const environmentName = z.enum(['production', 'staging', 'dev', 'sandbox'], {
  message: 'expected production, staging, dev or sandbox',
});
