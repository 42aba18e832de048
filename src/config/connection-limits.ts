/**
 * The ops-only abuse limits of an instance (no AIO Broker field: AIO does this in its load
 * balancer and frontends), kept in runtime.json under `limits` and changed live with
 * `ops broker limits set`. 0 means unlimited for the per-address limits (and off for the
 * failed-authentication backoff).
 */
import { OpsError } from '../shared/errors.js';
import { parseQuantity } from './quantity.js';

/** The stored limits (every field optional: a missing one takes the broker's default). */
export interface ConnectionLimitSettings {
  /** Concurrent connections from one remote address; 0 = unlimited (default). */
  maxConnectionsPerAddress?: number;
  /** New connections per second from one remote address; 0 = unlimited (default). */
  maxConnectionRatePerAddress?: number;
  /** Largest CONNECT before authentication, in bytes (default 65536; capped by the maximum packet size). */
  maxConnectPacketBytes?: number;
  /** Failed authentications from one address within the window before it is blocked; 0 = off (default 10). */
  maxAuthFailuresPerAddress?: number;
  /** The window of counted failed authentications, seconds (default 60). */
  authFailureWindowSeconds?: number;
  /** The first block of an address, seconds; repeat blocks double, up to 64 times (default 60). */
  authBlockSeconds?: number;
}

/** Defaults shown by `limits show` (the engine's, see broker/options.ts). */
export const DEFAULT_CONNECTION_LIMITS: Required<ConnectionLimitSettings> = Object.freeze({
  maxConnectionsPerAddress: 0,
  maxConnectionRatePerAddress: 0,
  maxConnectPacketBytes: 65_536,
  maxAuthFailuresPerAddress: 10,
  authFailureWindowSeconds: 60,
  authBlockSeconds: 60,
});

/** Smallest CONNECT limit accepted: a CONNECT with a client id, user name and password fits. */
export const MIN_CONNECT_PACKET_BYTES = 256;
/** Largest MQTT packet. */
const MAX_PACKET = 268_435_455;

/** Longest failed-authentication window or block accepted: one day. */
const MAX_AUTH_SECONDS = 86_400;

/** Every stored limit, in the order `limits show` prints them. */
export const CONNECTION_LIMIT_KEYS = [
  'maxConnectionsPerAddress',
  'maxConnectionRatePerAddress',
  'maxConnectPacketBytes',
  'maxAuthFailuresPerAddress',
  'authFailureWindowSeconds',
  'authBlockSeconds',
] as const;
const KEYS = CONNECTION_LIMIT_KEYS;
type LimitKey = (typeof KEYS)[number];

/** The flags of `ops broker limits set`, as typed (strings) or as numbers from the admin socket. */
export type LimitArgs = { [K in LimitKey]?: string | number };

const FLAG: Readonly<Record<LimitKey, string>> = {
  maxConnectionsPerAddress: '--max-connections-per-address',
  maxConnectionRatePerAddress: '--max-connection-rate',
  maxConnectPacketBytes: '--max-connect-size',
  maxAuthFailuresPerAddress: '--max-auth-failures',
  authFailureWindowSeconds: '--auth-failure-window',
  authBlockSeconds: '--auth-block',
};

function parseValue(key: LimitKey, value: string | number): number {
  const n = typeof value === 'number' ? value : key === 'maxConnectPacketBytes' ? parseQuantity(value.trim()) : /^[0-9]+$/.test(value.trim()) ? Number(value) : undefined;
  if (key === 'maxConnectPacketBytes') {
    if (n === undefined || !Number.isInteger(n) || n < MIN_CONNECT_PACKET_BYTES || n > MAX_PACKET) {
      throw new OpsError('CFG_FLAG_INVALID', { message: `${FLAG[key]} must be a size in bytes from ${MIN_CONNECT_PACKET_BYTES} to ${MAX_PACKET} (e.g. 65536 or 64Ki), got '${value}'.` });
    }
    return n;
  }
  if (key === 'authFailureWindowSeconds' || key === 'authBlockSeconds') {
    if (n === undefined || !Number.isInteger(n) || n < 1 || n > MAX_AUTH_SECONDS) {
      throw new OpsError('CFG_FLAG_INVALID', { message: `${FLAG[key]} must be a whole number of seconds from 1 to ${MAX_AUTH_SECONDS}, got '${value}'.` });
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
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new Error(`limits.${key} must be a whole number >= 0`);
    if ((key === 'authFailureWindowSeconds' || key === 'authBlockSeconds') && (value < 1 || value > MAX_AUTH_SECONDS)) throw new Error(`limits.${key} must be from 1 to ${MAX_AUTH_SECONDS}`);
    out[key] = value;
  }
  return out;
}

/** The limits with defaults filled in, as `limits show` prints them. */
export function effectiveConnectionLimits(settings: ConnectionLimitSettings): Required<ConnectionLimitSettings> {
  return { ...DEFAULT_CONNECTION_LIMITS, ...settings };
}
