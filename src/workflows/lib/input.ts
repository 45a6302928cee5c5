import { ApplicationFailure } from '@temporalio/workflow';
import type { z } from 'zod';
import { InputError, parseInput } from '../../domain/input';

/** Step 0 of every runbook: bad input fails the run at once, naming every bad field. */
export function validateInput<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  try {
    return parseInput(schema, raw);
  } catch (err) {
    if (err instanceof InputError) {
      throw ApplicationFailure.nonRetryable(err.message, 'InvalidInput', { problems: err.problems });
    }
    throw err;
  }
}
