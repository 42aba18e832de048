/**
 * The ops-only abuse limits of an instance (no AIO Broker field: AIO does this in its load
 * balancer and frontends), kept in runtime.json under `limits` and changed live with
 * `ops broker limits set`. 0 means unlimited for the per-address limits.
 */
import { OpsError } from '../shared/errors.js';
import { MEMORY_PROFILES, type MemoryProfile } from '../shared/memory-profiles.js';
import { parseQuantity } from './quantity.js';

/** The stored limits (every field optional: a missing one takes the broker's default). */
export interface ConnectionLimitSettings {
  /** Concurrent connections from one remote address; 0 = unlimited (default). */
  maxConnectionsPerAddress?: number;
  /** New connections per second from one remote address; 0 = unlimited (default). */
  maxConnectionRatePerAddress?: number;
  /** Largest CONNECT before authentication, in bytes (default 65536; capped by the maximum packet size). */
  maxConnectPacketBytes?: number;
  /** Bytes one session may have waiting before it drops (per its queue strategy); default: the memory profile's (1/16 of its budget). */
  maxSessionQueueBytes?: number;
}

/** Defaults shown by `limits show` that do not depend on the memory profile (the engine's, see broker/options.ts). */
export const DEFAULT_CONNECTION_LIMITS: Required<Omit<ConnectionLimitSettings, 'maxSessionQueueBytes'>> = Object.freeze({
  maxConnectionsPerAddress: 0,
  maxConnectionRatePerAddress: 0,
  maxConnectPacketBytes: 65_536,
});

/** Smallest CONNECT limit accepted: a CONNECT with a client id, user name and password fits. */
export const MIN_CONNECT_PACKET_BYTES = 256;
/** Smallest session queue bound accepted (one message always fits an empty queue, whatever the bound). */
export const MIN_SESSION_QUEUE_BYTES = 1024;
/** Largest session queue bound accepted: 1 TiB, far above any memory profile. */
const MAX_SESSION_QUEUE_BYTES = 2 ** 40;
/** Largest MQTT packet. */
const MAX_PACKET = 268_435_455;

const KEYS = ['maxConnectionsPerAddress', 'maxConnectionRatePerAddress', 'maxConnectPacketBytes', 'maxSessionQueueBytes'] as const;

/** The flags of `ops broker limits set`, as typed (strings) or as numbers from the admin socket. */
export interface LimitArgs {
  maxConnectionsPerAddress?: string | number;
  maxConnectionRatePerAddress?: string | number;
  maxConnectPacketBytes?: string | number;
  maxSessionQueueBytes?: string | number;
}

const FLAG: Readonly<Record<(typeof KEYS)[number], string>> = {
  maxConnectionsPerAddress: '--max-connections-per-address',
  maxConnectionRatePerAddress: '--max-connection-rate',
  maxConnectPacketBytes: '--max-connect-size',
  maxSessionQueueBytes: '--max-session-queue-size',
};

/** The keys given as sizes (`64Ki`), with the range each accepts. */
const SIZES: Partial<Record<(typeof KEYS)[number], { readonly min: number; readonly max: number; readonly example: string }>> = {
  maxConnectPacketBytes: { min: MIN_CONNECT_PACKET_BYTES, max: MAX_PACKET, example: '65536 or 64Ki' },
  maxSessionQueueBytes: { min: MIN_SESSION_QUEUE_BYTES, max: MAX_SESSION_QUEUE_BYTES, example: '1048576 or 1Mi' },
};

function parseValue(key: (typeof KEYS)[number], value: string | number): number {
  const size = SIZES[key];
  const n = typeof value === 'number' ? value : size !== undefined ? parseQuantity(value.trim()) : /^[0-9]+$/.test(value.trim()) ? Number(value) : undefined;
  if (size !== undefined) {
    if (n === undefined || !Number.isInteger(n) || n < size.min || n > size.max) {
      throw new OpsError('CFG_FLAG_INVALID', { message: `${FLAG[key]} must be a size in bytes from ${size.min} to ${size.max} (e.g. ${size.example}), got '${value}'.` });
    }
    return n;
  }
  if (n === undefined || !Number.isInteger(n) || n < 0 || n > 1_000_000) {
    throw new OpsError('CFG_FLAG_INVALID', { message: `${FLAG[key]} must be a whole number from 0 (unlimited) to 1000000, got '${value}'.` });
  }
  return n;
}

/** Checks the given flags and returns `current` with them applied; `CFG_FLAG_INVALID` names a bad one. */
export function updateConnectionLimits(current: ConnectionLimitSettings, args: LimitArgs): ConnectionLimitSettings {
  const next: ConnectionLimitSettings = { ...current };
  let any = false;
  for (const key of KEYS) {
    const value = args[key];
    if (value === undefined) continue;
    next[key] = parseValue(key, value);
    any = true;
  }
  if (!any) throw new OpsError('CFG_FLAG_INVALID', { message: `Give at least one of ${KEYS.map((k) => FLAG[k]).join(', ')}.` });
  return next;
}

/** Reads the stored `limits` of runtime.json (unknown keys dropped); throws a plain Error naming a bad value. */
export function readConnectionLimits(raw: unknown): ConnectionLimitSettings {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('limits must be an object');
  const out: ConnectionLimitSettings = {};
  for (const key of KEYS) {
    const value = (raw as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const min = key === 'maxSessionQueueBytes' ? MIN_SESSION_QUEUE_BYTES : 0;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) throw new Error(`limits.${key} must be a whole number >= ${min}`);
    out[key] = value;
  }
  return out;
}

/** The limits with defaults filled in (the session queue bound's from `memoryProfile`), as `limits show` prints them. */
export function effectiveConnectionLimits(settings: ConnectionLimitSettings, memoryProfile: MemoryProfile = 'Medium'): Required<ConnectionLimitSettings> {
  return { ...DEFAULT_CONNECTION_LIMITS, maxSessionQueueBytes: MEMORY_PROFILES[memoryProfile].sessionQueueBytes, ...settings };
}
