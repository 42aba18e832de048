/**
 * Where instances live: `$OPS_HOME` (default `~/.ops`), one folder per instance, each holding
 * deployment.json (the lock), backend.json (a cluster frontend's backend), runtime.json, status.json, admin.sock, broker.pid, broker.log, data/
 * (data/store: the LevelDB store when persistence is enabled), secrets/ (TLS certificates, store.key,
 * ca/: the instance CA that issues the certificates of Automatic TLS ports).
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { OpsError } from '../shared/errors.js';

/** The default instance name. */
export const DEFAULT_INSTANCE = 'default';

/** Files of one instance. */
export interface InstancePaths {
  readonly name: string;
  readonly home: string;
  readonly dir: string;
  /** Deployment-time settings with their checksum, written once at create. */
  readonly lock: string;
  /** The cluster backend (`ops create --backend`), written once at create; absent: a standalone broker. */
  readonly backend: string;
  /** Runtime settings and sub-resources (listeners, authn, authz), rewritten atomically. */
  readonly runtime: string;
  /** Written by the running broker: pid, ports, admin socket. Removed at stop. */
  readonly status: string;
  readonly socket: string;
  readonly pid: string;
  readonly log: string;
  readonly data: string;
  /** The durable store (LevelDB folder) of an instance created with `persistence.maxSize`. */
  readonly store: string;
  /** The store's AES-256-GCM key (base64 of 32 bytes, mode 0600), made at create. */
  readonly storeKey: string;
  /** Manual TLS secrets: `secrets/<secretRef>/tls.crt` and `tls.key`. */
  readonly secrets: string;
  /** The password file (`secrets/passwd`: `user:scrypt-hash[:attributes]` lines), read at each authentication. */
  readonly passwd: string;
  /** The instance CA of `tls.mode: Automatic` ports: `secrets/ca/ca.crt` (give it to clients) and `ca.key` (0600). */
  readonly ca: InstanceCaFiles;
}

/** Where an instance keeps its CA (the local stand-in for cert-manager's issuer). */
export interface InstanceCaFiles {
  readonly dir: string;
  readonly cert: string;
  readonly key: string;
}

/** The CA files under an instance's secrets folder. */
export function instanceCaFiles(secretsDir: string): InstanceCaFiles {
  const dir = join(secretsDir, 'ca');
  return { dir, cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
}

/** `$OPS_HOME`, or `~/.ops`. */
export function opsHome(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const home = env['OPS_HOME'];
  return home !== undefined && home !== '' ? resolve(home) : join(homedir(), '.ops');
}

/** True when `name` is a valid instance name (1-63 of a-z 0-9 -, not starting or ending with -). */
export function isInstanceName(name: string): boolean {
  return /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name);
}

/** Longest Unix socket path Linux takes (`sun_path` is 108 bytes with its terminating NUL); macOS takes 103. */
export const UNIX_SOCKET_PATH_LIMIT = process.platform === 'linux' ? 107 : 103;

/**
 * Throws `INST_PATH_TOO_LONG` when the instance's admin socket path is longer than a Unix socket
 * path may be: checked before anything is created or started, so a deep `$OPS_HOME` gets a clear
 * error instead of a raw `ENOENT chmod admin.sock` and a stray socket file.
 */
export function assertAdminSocketFits(paths: InstancePaths): void {
  const socket = resolve(paths.socket);
  const length = Buffer.byteLength(socket);
  if (length > UNIX_SOCKET_PATH_LIMIT) throw new OpsError('INST_PATH_TOO_LONG', { path: socket, length, limit: UNIX_SOCKET_PATH_LIMIT });
}

/** Paths of instance `name` under `home`; throws `INST_INVALID_NAME`. */
export function instancePaths(home: string, name: string): InstancePaths {
  if (!isInstanceName(name)) throw new OpsError('INST_INVALID_NAME', { name });
  return pathsOfDir(join(home, name), home, name);
}

/** Paths of an instance folder given directly (used by the broker process). */
export function pathsOfDir(dir: string, home = resolve(dir, '..'), name = dir.split(/[\\/]/).pop() ?? dir): InstancePaths {
  return {
    name,
    home,
    dir,
    lock: join(dir, 'deployment.json'),
    backend: join(dir, 'backend.json'),
    runtime: join(dir, 'runtime.json'),
    status: join(dir, 'status.json'),
    socket: join(dir, 'admin.sock'),
    pid: join(dir, 'broker.pid'),
    log: join(dir, 'broker.log'),
    data: join(dir, 'data'),
    store: join(dir, 'data', 'store'),
    storeKey: join(dir, 'secrets', 'store.key'),
    secrets: join(dir, 'secrets'),
    passwd: join(dir, 'secrets', 'passwd'),
    ca: instanceCaFiles(join(dir, 'secrets')),
  };
}
