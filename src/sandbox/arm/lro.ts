import { randomUUID } from 'node:crypto';
import type { Serial } from './context';
import { ArmError } from './errors';
import type { OperationDoc, Store } from './store';

export interface StartOptions {
  namespace: string;
  location: string;
  resourceId: string;
  method: string;
  returns: OperationDoc['returns'];
  /** Serialises the work with other work on the same resource. */
  queueKey: string;
  /** Error code for failures that are not ArmErrors (the code Azure reports for that provider). */
  errorCode: string;
  work: () => Promise<void>;
}

// Azure names the status/result collections differently per provider; SDKs only follow the URLs.
const PATHS: Record<string, { status: string; result: string }> = {
  'microsoft.app': { status: 'containerappOperationStatuses', result: 'containerappOperationResults' },
  'microsoft.dbforpostgresql': { status: 'azureAsyncOperation', result: 'operationResults' },
};
const DEFAULT_PATHS = { status: 'operationStatuses', result: 'operationResults' };

export const STATUS_KINDS = new Set(
  [...Object.values(PATHS), DEFAULT_PATHS].map((p) => p.status.toLowerCase()),
);
export const RESULT_KINDS = new Set(
  [...Object.values(PATHS), DEFAULT_PATHS].map((p) => p.result.toLowerCase()),
);

/** Long-running operations: 201/202 + `Azure-AsyncOperation`/`Location`, status kept in the store. */
export class Operations {
  constructor(
    private readonly store: Store,
    private readonly serial: Serial,
    private readonly delayMs: number,
    private readonly apiVersions: Record<string, string>,
    public baseUrl = '',
  ) {}

  start(o: StartOptions): OperationDoc {
    const op: OperationDoc = {
      id: randomUUID(),
      namespace: o.namespace,
      location: o.location.toLowerCase().replace(/\s+/g, ''),
      resourceId: o.resourceId,
      method: o.method,
      returns: o.returns,
      startTime: new Date().toISOString(),
      notBefore: Date.now() + this.delayMs,
    };
    this.store.state.operations[op.id] = op;
    this.store.save();
    void this.serial.run(o.queueKey, async () => {
      try {
        await o.work();
        this.finish(op, 'Succeeded');
      } catch (e) {
        const error =
          e instanceof ArmError
            ? { code: e.code, message: e.message }
            : { code: o.errorCode, message: e instanceof Error ? e.message : String(e) };
        this.finish(op, 'Failed', error);
      }
    });
    return op;
  }

  /** Operations a previous emulator process left running never finished their work: report that. */
  failOrphans(): void {
    for (const op of Object.values(this.store.state.operations)) {
      if (!op.result) {
        op.notBefore = 0;
        this.finish(op, 'Failed', {
          code: 'OperationInterrupted',
          message: 'The ARM emulator restarted while this operation ran; retry the request.',
        });
      }
    }
  }

  get(id: string): OperationDoc | undefined {
    return this.store.state.operations[id];
  }

  status(op: OperationDoc): 'InProgress' | 'Succeeded' | 'Failed' {
    return op.result && Date.now() >= op.notBefore ? op.result : 'InProgress';
  }

  /** Headers of the initial 201/202 response. */
  headers(op: OperationDoc, withLocation: boolean): Record<string, string> {
    const h: Record<string, string> = { 'Azure-AsyncOperation': this.url(op, 'status'), 'Retry-After': '1' };
    if (withLocation) h['Location'] = this.url(op, 'result');
    return h;
  }

  /**
   * Retry-After for a poll: only while at least a second of the configured delay remains, so a
   * fast sandbox (lroDelayMs < 1 s) lets the client's own polling interval drive the pace.
   */
  pollHeaders(op: OperationDoc): Record<string, string> {
    const remaining = op.notBefore - Date.now();
    return remaining >= 1000 ? { 'Retry-After': String(Math.floor(remaining / 1000)) } : {};
  }

  statusBody(op: OperationDoc): Record<string, unknown> {
    const status = this.status(op);
    return {
      id: new URL(this.url(op, 'status')).pathname,
      name: op.id,
      status,
      startTime: op.startTime,
      ...(status !== 'InProgress' && op.endTime ? { endTime: op.endTime } : {}),
      ...(status === 'Failed' && op.error ? { error: op.error } : {}),
    };
  }

  url(op: OperationDoc, kind: 'status' | 'result'): string {
    const paths = PATHS[op.namespace.toLowerCase()] ?? DEFAULT_PATHS;
    const sub = op.resourceId.split('/')[2];
    const version = this.apiVersions[op.namespace.toLowerCase()];
    const query = version ? `?api-version=${version}` : '';
    return `${this.baseUrl}/subscriptions/${sub}/providers/${op.namespace}/locations/${op.location}/${paths[kind]}/${op.id}${query}`;
  }

  private finish(op: OperationDoc, result: 'Succeeded' | 'Failed', error?: OperationDoc['error']): void {
    op.result = result;
    op.endTime = new Date(Math.max(Date.now(), op.notBefore)).toISOString();
    if (error) op.error = error;
    this.store.save();
  }
}
