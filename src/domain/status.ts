// The status object every runbook exposes through its `status` query: what an operator reads
// first. Kept as plain data so the CLI, the UI and tests read the same thing.

export type Phase = 'preflight' | 'running' | 'waiting' | 'completed' | 'failed' | 'rolled-back' | 'planned';

export interface HistoryEntry {
  at: string;
  event: string;
  step?: string;
  detail?: string;
  by?: string;
}

export interface PendingGate {
  gate: string;
  prompt: string;
  since: string;
  expiresAt?: string;
}

export interface RunbookStatus {
  runbook: string;
  kind: string;
  target: string;
  environment: string;
  phase: Phase;
  step?: { index: number; total: number; title: string };
  summary: string;
  history: HistoryEntry[];
  pendingGate?: PendingGate;
  outcome?: string;
  dryRun: boolean;
  /** Runbook-specific state (canary: revisions, weights, analysis runs). */
  details?: Record<string, unknown>;
}

/** Settings the worker's configuration supplies to workflows (read once via a local activity). */
export interface RunbookSettings {
  lang: 'en' | 'ja';
  environment: 'production' | 'staging' | 'dev' | 'sandbox';
  resourceGroup: string;
  target: 'azure' | 'sandbox';
  /** Default Prometheus for canary analysis (PROMETHEUS_URL). */
  prometheusUrl?: string;
}
