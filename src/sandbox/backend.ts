// The real things behind the ARM emulator. The emulator owns the ARM resource documents
// (persisted JSON); these backends own processes and PostgreSQL clusters. The emulator calls
// them on every state change and reads runtime state back when it renders a GET.

export type RunningState = 'Running' | 'Stopped' | 'Failed' | 'Activating' | 'Processing' | 'Deprovisioning';
export type HealthState = 'Healthy' | 'Unhealthy' | 'None';

/** One container-app revision as the runtime needs it: env already resolved (secretRefs → values). */
export interface RevisionSpec {
  app: string;
  /** `<app>--<suffix>` */
  name: string;
  image: string;
  env: Record<string, string>;
}

export interface RevisionRuntimeState {
  runningState: RunningState;
  healthState: HealthState;
  /** Direct port of the revision's process on 127.0.0.1, when running. */
  port?: number;
  pid?: number;
  replicas: number;
  /** Last /health body seen by the runtime's poller, for diagnostics. */
  lastHealth?: unknown;
}

export interface TrafficTarget {
  revisionName: string;
  weight: number;
}

export interface AppsBackend {
  /** Start the revision's process unless it already runs (idempotent). Resolves once it listens. */
  ensureRevision(spec: RevisionSpec): Promise<RevisionRuntimeState>;
  /** Stop the process (deactivate). Idempotent. */
  stopRevision(name: string): Promise<void>;
  /** Stop then start the process with this spec. */
  restartRevision(spec: RevisionSpec): Promise<RevisionRuntimeState>;
  /** Runtime state; `Stopped`/`None` for an unknown name. Health comes from polling the real /health. */
  revisionState(name: string): RevisionRuntimeState;
  /** From now on the app's ingress splits requests by these weights (total 100). */
  setTraffic(app: string, targets: TrafficTarget[]): void;
  /** The app's ingress, started on first use; a fixed port from config or an ephemeral one. */
  ensureIngress(app: string): Promise<{ url: string; port: number }>;
  close(): Promise<void>;
}

export type ServerState =
  | 'Ready'
  | 'Stopped'
  | 'Starting'
  | 'Stopping'
  | 'Updating'
  | 'Provisioning'
  | 'Dropping';

export interface ServerSpec {
  name: string;
  administratorLogin: string;
  administratorLoginPassword: string;
  /** PostgreSQL major version Azure reports; the sandbox runs the bundled binaries whatever it says. */
  version: string;
  /** Port to reuse (kept in the ARM document so connection strings survive restarts). */
  port?: number;
}

export interface ServerRuntimeState {
  state: ServerState;
  host: string;
  port: number;
}

export interface BaseBackup {
  /** Stable name, e.g. `backup_20261203T191401Z`. */
  name: string;
  /**
   * ISO time the backup finished (pg_backup_stop): the earliest instant this backup can restore
   * to, because recovery cannot stop before the backup's end is replayed.
   */
  completedTime: string;
  /** ISO time of pg_backup_start (the WAL replay of a restore from this backup begins there). */
  startTime: string;
  sizeBytes: number;
}

export interface ServersBackend {
  /** initdb + configure WAL archiving + start + seed. Idempotent on `spec.name`. */
  create(spec: ServerSpec): Promise<ServerRuntimeState>;
  /** Start a known cluster (also used after an emulator restart). Idempotent. */
  start(name: string): Promise<ServerRuntimeState>;
  stop(name: string): Promise<ServerRuntimeState>;
  restart(name: string): Promise<ServerRuntimeState>;
  state(name: string): ServerRuntimeState | undefined;
  backups(name: string): Promise<BaseBackup[]>;
  /**
   * New server `name` recovered from `sourceName`'s newest base backup that finished by
   * `pointInTimeUtc` plus its WAL archive, promoted and Ready on its own port. Retry-safe: the
   * same (name, source, time) again returns the existing server; another request for a taken
   * name fails with a Conflict.
   */
  restore(name: string, sourceName: string, pointInTimeUtc: Date): Promise<ServerRuntimeState>;
  /** An on-demand online base backup of a running server. */
  backup(name: string): Promise<BaseBackup>;
  /** Remove the cluster and its files. Idempotent. */
  delete(name: string): Promise<void>;
  close(): Promise<void>;
}
