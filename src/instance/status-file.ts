/**
 * status.json and broker.pid: what the running broker tells the world. The broker writes them when
 * it is ready and removes them when it stops; `ops broker status` and tests read the ports here.
 */
import { readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import type { StoreRepairReport } from '../shared/store-repair.js';
import { isRecord } from '../shared/plain-objects.js';
import { readJsonFile, writeJsonAtomic } from './files.js';

/** One open listener port. */
export interface OpenPort {
  readonly listener: string;
  /** Port as configured (0 = ephemeral). */
  readonly configuredPort: number;
  /** Port actually listened on. */
  readonly port: number;
  readonly host: string;
  /** `WebSockets` for MQTT over WebSockets ports (absent for plain MQTT). */
  readonly protocol?: 'WebSockets';
  /** True for TLS ports. */
  readonly tls?: true;
}

/** Contents of status.json. */
export interface BrokerStatusFile {
  readonly pid: number;
  readonly startedAt: string;
  readonly ports: readonly OpenPort[];
  readonly adminSocket: string;
  /** Prometheus endpoint port, or null when metrics are off or failed to open. */
  readonly metricsPort: number | null;
  /** Why the metrics endpoint is not open (e.g. its port is taken); absent when it is open. */
  readonly metricsError?: string;
  /** Started with `--repair` on a durable store: what the store check found damaged and lost. */
  readonly storeRepair?: StoreRepairReport;
}

/** Writes status.json atomically. */
export async function writeStatusFile(path: string, status: BrokerStatusFile): Promise<void> {
  await writeJsonAtomic(path, status, 0o644);
}

/** Reads status.json; undefined when absent or unreadable. */
export async function readStatusFile(path: string): Promise<BrokerStatusFile | undefined> {
  const raw = await readJsonFile(path).catch(() => undefined);
  return isRecord(raw) && typeof raw['pid'] === 'number' ? (raw as unknown as BrokerStatusFile) : undefined;
}

/** Reads broker.pid; undefined when absent or not a number. */
export async function readPidFile(path: string): Promise<number | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  const pid = text === undefined ? NaN : Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

/** True when a process with this pid exists and has not exited (a zombie waiting to be reaped counts as exited). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/**
 * True when `pid` is a live ops-broker process. Where /proc exists, the command line must name
 * bin/ops-broker.js, so a stale broker.pid whose number was reused by another process is ignored.
 */
export function isBrokerProcess(pid: number): boolean {
  if (!isProcessAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('ops-broker');
  } catch {
    return true;
  }
}

/** Removes the files of a running broker (pid, status, socket). */
export async function clearRunFiles(paths: { pid: string; status: string; socket: string }): Promise<void> {
  await Promise.all([rm(paths.pid, { force: true }), rm(paths.status, { force: true }), rm(paths.socket, { force: true })]);
}
