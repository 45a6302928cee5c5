import { Client, Connection } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { Config } from '../config';

export class UnreachableError extends Error {}

/** Connect or say, in one line, that Temporal is not there (exit code 3 in the CLI). */
export async function connectClient(config: Config, connectTimeout: Duration = '5s'): Promise<Client> {
  try {
    const connection = await Connection.connect({
      address: config.temporal.address,
      tls: config.temporal.tls,
      connectTimeout,
      ...(config.temporal.apiKey ? { apiKey: config.temporal.apiKey } : {}),
    });
    return new Client({ connection, namespace: config.temporal.namespace });
  } catch (err) {
    throw new UnreachableError(
      `Temporal unreachable at ${config.temporal.address}: ${(err as Error).message}`,
    );
  }
}

/** gRPC UNAVAILABLE / DEADLINE_EXCEEDED after connecting: the server went away. */
export function isUnreachable(err: unknown): boolean {
  const code = (err as { code?: number })?.code ?? (err as { cause?: { code?: number } })?.cause?.code;
  return err instanceof UnreachableError || code === 14 || code === 4;
}
