// The LLM circuit breaker of the sandbox app, the same shape FluentEdge's backend uses:
// N consecutive failures open it, it stays open for a cool-down, then lets exactly one trial
// call through (half_open); that trial closes or re-opens it.

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface CircuitOptions {
  failureThreshold: number;
  openMs: number;
  now?: () => number;
}

export interface CircuitSnapshot {
  circuit: CircuitState;
  consecutiveFailures: number;
  lastError?: string;
  lastSuccessAt?: string;
  openedAt?: string;
  retryAt?: string;
}

export class Circuit {
  private opened = 0;
  private failures = 0;
  private trialInFlight = false;
  private lastError: string | undefined;
  private lastSuccess: number | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: CircuitOptions) {
    this.now = opts.now ?? Date.now;
  }

  get state(): CircuitState {
    if (this.failures < this.opts.failureThreshold) return 'closed';
    return this.now() - this.opened >= this.opts.openMs ? 'half_open' : 'open';
  }

  /** Whether a call may go out now; in half_open only one trial at a time. */
  tryAcquire(): boolean {
    const s = this.state;
    if (s === 'closed') return true;
    if (s === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.trialInFlight = false;
    this.lastSuccess = this.now();
  }

  failure(error: string): void {
    const wasHalfOpen = this.state === 'half_open';
    this.trialInFlight = false;
    this.lastError = error;
    this.failures++;
    // A failed trial restarts the cool-down; so does the failure that crosses the threshold.
    if (wasHalfOpen || this.failures === this.opts.failureThreshold) this.opened = this.now();
  }

  snapshot(): CircuitSnapshot {
    const s = this.state;
    const snap: CircuitSnapshot = { circuit: s, consecutiveFailures: this.failures };
    if (this.lastError !== undefined) snap.lastError = this.lastError;
    if (this.lastSuccess !== undefined) snap.lastSuccessAt = new Date(this.lastSuccess).toISOString();
    if (s !== 'closed') {
      snap.openedAt = new Date(this.opened).toISOString();
      snap.retryAt = new Date(this.opened + this.opts.openMs).toISOString();
    }
    return snap;
  }
}
