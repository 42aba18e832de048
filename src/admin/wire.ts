/**
 * The admin socket protocol: newline-delimited JSON over a Unix socket. Each request line is
 * `{ v, id, method, params }`; each reply line is `{ v, id, result }` or
 * `{ v, id, error: { code, message, details } }` with a code from shared/error-codes.ts. Every
 * runtime change travels as one method, `runtime.change`, whose params are a typed change request
 * with its own version (config/changes/runtime-change.ts), never the CLI's flag tokens.
 */
import type { BrokerStats } from '../shared/broker-stats.js';
import { OpsError } from '../shared/errors.js';
import { isRecord } from '../shared/plain-objects.js';

/** Protocol version spoken by this build. */
export const ADMIN_PROTOCOL_VERSION = 1;
/** Largest request line accepted, in bytes. */
export const MAX_REQUEST_BYTES = 1024 * 1024;

/** Methods the broker serves. */
export const ADMIN_METHODS = [
  'ping',
  'status',
  'stats',
  'broker.get',
  'persist.get',
  'limits.get',
  'resource.list',
  'resource.get',
  /** Params: a typed, versioned change request (config/changes/runtime-change.ts); result `{ state }`, the runtime state after it. */
  'runtime.change',
  'shutdown',
] as const;

/** An admin method name. */
export type AdminMethod = (typeof ADMIN_METHODS)[number];

/** A request id: echoed in the reply. */
export type RequestId = string | number;

/** One request line. */
export interface AdminRequest {
  readonly v: number;
  readonly id: RequestId;
  readonly method: string;
  readonly params?: unknown;
}

/** Error part of a failed reply. */
export interface AdminErrorBody {
  readonly code: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, string | number>>;
}

/** One reply line. */
export type AdminReply =
  | { readonly v: number; readonly id: RequestId | null; readonly result: unknown }
  | { readonly v: number; readonly id: RequestId | null; readonly error: AdminErrorBody };

/** Serializes one message as a line. */
export function encodeLine(message: AdminRequest | AdminReply): string {
  return `${JSON.stringify(message)}\n`;
}

/** The id of a request line if it has a usable one (for error replies to bad requests). */
export function requestIdOf(value: unknown): RequestId | null {
  if (!isRecord(value)) return null;
  const id = value['id'];
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/** Parses and checks one request line; throws `ADM_BAD_REQUEST` or `ADM_VERSION_UNSUPPORTED`. */
export function parseRequest(line: string): AdminRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new OpsError('ADM_BAD_REQUEST', { reason: 'the line is not JSON' });
  }
  if (!isRecord(value)) throw new OpsError('ADM_BAD_REQUEST', { reason: 'a request must be a JSON object' });
  const { v, id, method } = value;
  if (typeof v !== 'number') throw new OpsError('ADM_BAD_REQUEST', { reason: 'missing protocol version "v"' });
  if (v !== ADMIN_PROTOCOL_VERSION) throw new OpsError('ADM_VERSION_UNSUPPORTED', { version: v, supported: ADMIN_PROTOCOL_VERSION });
  if (typeof id !== 'string' && typeof id !== 'number') throw new OpsError('ADM_BAD_REQUEST', { reason: '"id" must be a string or number' });
  if (typeof method !== 'string') throw new OpsError('ADM_BAD_REQUEST', { reason: '"method" must be a string' });
  return { v, id, method, params: value['params'] };
}

/** Parses one reply line; throws `ADM_BAD_REQUEST` when it is not a reply. */
export function parseReply(line: string): AdminReply {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new OpsError('ADM_BAD_REQUEST', { reason: 'the broker sent a line that is not JSON' });
  }
  if (!isRecord(value) || typeof value['v'] !== 'number' || !('result' in value || isRecord(value['error']))) {
    throw new OpsError('ADM_BAD_REQUEST', { reason: 'the broker sent something that is not a reply' });
  }
  return value as unknown as AdminReply;
}

/** `status` result. */
export interface StatusResult {
  readonly instance: string;
  readonly pid: number;
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  readonly ports: ReadonlyArray<{ listener: string; configuredPort: number; port: number; host: string; protocol?: 'WebSockets'; tls?: true }>;
  /** Listener ports stored but not served, with why (TLS, WebSockets). */
  readonly skippedPorts: ReadonlyArray<{ listener: string; port: number; reason: string }>;
  readonly metricsPort: number | null;
  /** Why the metrics endpoint is not open (e.g. its port is taken); absent when it is open. */
  readonly metricsError?: string;
  readonly logLevel: string;
  readonly policyVersion: number;
}

/** A cluster frontend's identity in `stats`. */
export interface ClusterStats {
  /** This frontend's id in the cluster (new at every start). */
  readonly frontendId: string;
  /** The backend's seeds (`host:port`). */
  readonly backend: readonly string[];
  /** Every frontend's figures (as each last wrote them, every 2 s), when they could be read. */
  readonly members?: readonly ClusterMemberStats[];
  /** Sums over the live frontends. */
  readonly totals?: ClusterMemberTotals;
  /**
   * Backend partitions (Redis masters) in degraded mode: their writes are acknowledged with fewer
   * replicas than `redundancyFactor - 1` (docs/cluster.md "Degraded mode, and what can be lost").
   */
  readonly degradedPartitions: readonly DegradedPartitionStats[];
  /** The revision of the cluster's shared runtime settings this frontend is at (docs/cluster.md). */
  readonly configRevision: number;
  /** Revisions of those settings this frontend refused (its locked settings reject them; logged). */
  readonly configRefused: number;
  /** Change stream entries that were not revisions of this cluster (not authentic, malformed): skipped. */
  readonly configBadEntries: number;
  /** Whether this frontend runs the cluster's state store now (holds the state store leader lease). */
  readonly stateStoreLeader: boolean;
}

/** One degraded backend partition in `stats`. */
export interface DegradedPartitionStats {
  /** The master's `host:port`. */
  readonly node: string;
  /** Since when (ISO 8601). */
  readonly since: string;
  /** Replicas in sync at the last check, and wanted. */
  readonly replicasInSync: number;
  readonly wanted: number;
}

/** One frontend's figures in `stats`. */
export interface ClusterMemberStats {
  readonly frontendId: string;
  /** Holds its lease. */
  readonly live: boolean;
  /** When it wrote them (ms since the epoch). */
  readonly at: number;
  readonly connected: number;
  readonly sessions: number;
  readonly subscriptions: number;
  readonly messagesReceived: number;
  readonly messagesSent: number;
  readonly messagesDropped: number;
  readonly queued: number;
}

/** Sums of the live frontends' figures. */
export type ClusterMemberTotals = Omit<ClusterMemberStats, 'frontendId' | 'live' | 'at'> & { readonly frontends: number };

/** `stats` result: the engine's figures plus instance-level ones. */
export interface StatsResult {
  readonly instance: string;
  readonly uptimeSeconds: number;
  readonly clients: BrokerStats['clients'];
  /** All subscriptions, the broker's own included (see `user` and `system`). */
  readonly subscriptions: number;
  /** All retained messages, `$SYS/...` included (see `user` and `system`). */
  readonly retained: number;
  /** The users' share of `subscriptions` and `retained` (the totals minus `system`). */
  readonly user: { readonly subscriptions: number; readonly retained: number };
  /** The broker's own: in-process services' subscriptions (state store), retained messages on `$` topics. */
  readonly system: BrokerStats['system'];
  readonly internalErrors: BrokerStats['internalErrors'];
  readonly messages: BrokerStats['messages'];
  readonly bytes: BrokerStats['bytes'];
  /** The resource limits at work: partial-packet bytes held, connections closed by them, subscriptions refused. */
  readonly limits: BrokerStats['limits'];
  /** State-store keys; null until the broker runs a state store. */
  readonly stateStore: { readonly keys: number | null };
  /** Bytes used by the instance's data folder. */
  readonly disk: { readonly usedBytes: number };
  readonly persistPolicyVersion: number;
  /** Deployment-time persistence: store on disk, AES-256-GCM encryption, `persistence.maxSize` in bytes (null without persistence). */
  readonly persistence: {
    readonly enabled: boolean;
    readonly encryption: 'Enabled' | 'Disabled';
    readonly maxSizeBytes: number | null;
  };
  /** The store's size against `persistence.maxSize` (`full`: messages that need it get 0x97); null for the memory store. */
  readonly store: { readonly usedBytes: number; readonly limitBytes: number | null; readonly full: boolean; readonly refusedWrites: number } | null;
  /** The disk-backed message buffer's use; null when not configured. */
  readonly diskBuffer: { readonly usedBytes: number; readonly maxBytes: number } | null;
  /** Present on a cluster frontend (`--backend`): its id and backend. */
  readonly cluster?: ClusterStats;
}
