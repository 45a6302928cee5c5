import type { AppsBackend, ServersBackend } from '../backend';
import type { Operations } from './lro';
import type { Store } from './store';

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Env {
  store: Store;
  ops: Operations;
  serial: Serial;
  apps: AppsBackend;
  servers: ServersBackend;
  subscriptionId: string;
}

/** One ARM request after auth, subscription and api-version checks. */
export interface Ctx {
  env: Env;
  method: string;
  /** Path segments as sent (case preserved, for names); compare through `lower`. */
  segments: string[];
  lower: string[];
  query: URLSearchParams;
  body: unknown;
  /** True once if an injected `lroFailure` fault applies to this call (consumes it). */
  lroFault(): boolean;
}

/** Runs work one at a time per key, so backend calls for one resource never interleave. */
export class Serial {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}
