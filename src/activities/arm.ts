import { ApplicationFailure } from '@temporalio/common';

// ARM errors, classified once: a 4xx that is the caller's fault will fail the same way on every
// retry, so it stops the activity with Azure's code; 408/429/5xx and network errors are retried
// (the SDK pipeline already honours Retry-After before we see them).

interface RestErrorLike {
  name?: string;
  statusCode?: number;
  code?: string;
  message?: string;
}

const lroFailed = /^The long-running operation has failed\. (\w+)\. ?(.*)$/s;

export function armFailure(err: unknown, what: string): unknown {
  const e = err as RestErrorLike;
  // core-lro reports a Failed async operation as a plain Error; the operation will not succeed
  // by polling again, and re-sending the request is the workflow's decision, not a blind retry.
  const lro = typeof e?.message === 'string' && !e.statusCode ? lroFailed.exec(e.message) : null;
  if (lro) return ApplicationFailure.nonRetryable(`${what}: ${lro[1]}: ${lro[2]}`, lro[1], { code: lro[1] });
  const status = e?.statusCode;
  if (status && status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return ApplicationFailure.nonRetryable(
      `${what}: ${e.code ?? status}: ${e.message ?? ''}`.trim(),
      e.code ?? `HTTP${status}`,
      {
        statusCode: status,
        code: e.code,
      },
    );
  }
  return err;
}

export async function arm<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw armFailure(err, what);
  }
}

export function isNotFound(err: unknown): boolean {
  return (err as RestErrorLike)?.statusCode === 404;
}
