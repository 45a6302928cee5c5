import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type Json = Record<string, unknown>;

export interface ResourceGroupDoc {
  name: string;
  location: string;
  tags?: Record<string, string>;
}

export interface SecretDoc {
  name: string;
  value?: string;
  keyVaultUrl?: string;
  identity?: string;
}

export interface TrafficDoc {
  revisionName?: string;
  latestRevision?: boolean;
  weight: number;
  label?: string;
}

export interface RevisionDoc {
  name: string;
  /** The suffix after `<app>--`, compared for duplicates. */
  suffix: string;
  createdTime: string;
  lastActiveTime: string;
  active: boolean;
  provisioningState: 'Provisioning' | 'Provisioned' | 'Failed' | 'Deprovisioning' | 'Deprovisioned';
  provisioningError?: string;
  template: Json;
}

export interface AppDoc {
  id: string;
  name: string;
  resourceGroup: string;
  location: string;
  tags?: Record<string, string>;
  identity?: Json;
  provisioningState: 'InProgress' | 'Succeeded' | 'Failed' | 'Deleting' | 'Canceled';
  createdTime: string;
  lastModifiedTime: string;
  /** `properties` as last written, minus read-only fields; secret values live only in `secrets`. */
  properties: Json;
  secrets: SecretDoc[];
  revisions: RevisionDoc[];
  /** Set by POST .../stop, cleared by POST .../start: every revision stays down until started. */
  stopped?: boolean;
}

export interface ServerDoc {
  id: string;
  name: string;
  resourceGroup: string;
  location: string;
  tags?: Record<string, string>;
  sku: Json;
  properties: Json;
  administratorLoginPassword: string;
  /** Kept so the connection string of a server survives emulator restarts. */
  port?: number;
  /** Last settled state; `transient` wins while an operation runs. */
  state: 'Ready' | 'Stopped' | 'Provisioning' | 'Disabled';
  transient?: 'Starting' | 'Stopping' | 'Restarting' | 'Updating' | 'Dropping' | 'Provisioning';
  createdTime: string;
  /** Set for a server created with createMode PointInTimeRestore: what it was restored from. */
  restoredFrom?: { sourceServerResourceId: string; sourceName: string; pointInTimeUTC: string };
}

export interface OperationDoc {
  id: string;
  /** ARM resource provider namespace, e.g. `Microsoft.App`. */
  namespace: string;
  location: string;
  resourceId: string;
  method: string;
  /** What `Location` returns once done: the resource (PUT/PATCH) or nothing (POST/DELETE). */
  returns: 'resource' | 'none';
  startTime: string;
  /** Epoch ms before which the status stays InProgress (lroDelayMs). */
  notBefore: number;
  result?: 'Succeeded' | 'Failed';
  endTime?: string;
  error?: { code: string; message: string };
}

export interface MutationDoc {
  seq: number;
  time: string;
  method: string;
  path: string;
  resourceId: string;
  status: number;
  body: unknown;
}

export interface ArmState {
  version: 1;
  resourceGroups: Record<string, ResourceGroupDoc>;
  apps: Record<string, AppDoc>;
  servers: Record<string, ServerDoc>;
  operations: Record<string, OperationDoc>;
  mutations: MutationDoc[];
  seq: number;
}

const FILE = 'arm-state.json';
const KEEP_MUTATIONS = 10_000;
const KEEP_OPERATIONS_MS = 3600e3;

/** Every ARM document, operation and mutation, saved to `<dataDir>/arm-state.json` after each change. */
export class Store {
  readonly state: ArmState;
  private readonly file: string;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.file = join(dataDir, FILE);
    this.state = existsSync(this.file)
      ? (JSON.parse(readFileSync(this.file, 'utf8')) as ArmState)
      : { version: 1, resourceGroups: {}, apps: {}, servers: {}, operations: {}, mutations: [], seq: 0 };
  }

  /** Writes to a temp file and renames it, so a crash never leaves a torn state file. */
  save(): void {
    const cutoff = Date.now() - KEEP_OPERATIONS_MS;
    for (const [id, op] of Object.entries(this.state.operations)) {
      if (op.endTime && Date.parse(op.endTime) < cutoff) delete this.state.operations[id];
    }
    if (this.state.mutations.length > KEEP_MUTATIONS) {
      this.state.mutations.splice(0, this.state.mutations.length - KEEP_MUTATIONS);
    }
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state, null, 1));
    renameSync(tmp, this.file);
  }

  record(m: Omit<MutationDoc, 'seq' | 'time'>): MutationDoc {
    this.state.seq += 1;
    const doc: MutationDoc = { seq: this.state.seq, time: new Date().toISOString(), ...m };
    this.state.mutations.push(doc);
    this.save();
    return doc;
  }
}

/** ARM names are case-insensitive; documents are keyed by the lower-cased resource id. */
export const key = (id: string) => id.toLowerCase();
