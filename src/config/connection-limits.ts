/**
 * The ops-only abuse limits of an instance (no AIO Broker field: AIO does this in its load
 * balancer and frontends), kept in runtime.json under `limits` and changed live with
 * `ops broker limits set`. 0 means unlimited for the per-address limits (and off for the
 * failed-authentication backoff); the subscription, topic-level and partial-packet limits are always on.
 */
import type { ConnectionLimits } from '../shared/connection-limit-types.js';
import { OpsError } from '../shared/errors.js';
import { parseQuantity } from './quantity.js';

/** The stored limits (every field optional: a missing one takes the broker's default). */
export type ConnectionLimitSettings = ConnectionLimits;

/** The limits whose defaults follow the memory profile (see {@link effectiveConnectionLimits}). */
export type ProfileLimitKey = 'maxSessionQueueBytes' | 'maxPartialPacketBytes';

/** Defaults shown by `limits show` (the engine's, see broker/broker-options.ts), but for those that follow the memory profile. */
export const DEFAULT_CONNECTION_LIMITS: Required<Omit<ConnectionLimitSettings, ProfileLimitKey>> = Object.freeze({
  maxConnectionsPerAddress: 0,
  maxConnectionRatePerAddress: 0,
  maxConnectPacketBytes: 65_536,
  maxSubscriptionsPerClient: 10_000,
  maxTopicLevels: 100,
  partialPacketTimeoutSeconds: 30,
  maxAuthFailuresPerAddress: 10,
  authFailureWindowSeconds: 60,
  authBlockSeconds: 60,
});

/** Smallest CONNECT limit accepted: a CONNECT with a client id, user name and password fits. */
export const MIN_CONNECT_PACKET_BYTES = 256;
/** Smallest session queue bound accepted (one message always fits an empty queue, whatever the bound). */
export const MIN_SESSION_QUEUE_BYTES = 1024;
/** Largest session queue bound accepted: 1 TiB, far above any memory profile. */
const MAX_SESSION_QUEUE_BYTES = 2 ** 40;
/** Largest MQTT packet. */
const MAX_PACKET = 268_435_455;

/** Smallest bound on partial-packet bytes accepted. */
export const MIN_PARTIAL_PACKET_BYTES = 65_536;
/** Largest bound on partial-packet bytes accepted (1 TiB: more than any host has). */
const MAX_PARTIAL_PACKET_BYTES = 2 ** 40;
/** Longest failed-authentication window or block accepted: one day. */
const MAX_AUTH_SECONDS = 86_400;

/** The stored keys, in the order `limits show` prints them. */
export const LIMIT_KEYS = [
  'maxConnectionsPerAddress',
  'maxConnectionRatePerAddress',
  'maxConnectPacketBytes',
  'maxAuthFailuresPerAddress',
  'authFailureWindowSeconds',
  'authBlockSeconds',
  'maxSessionQueueBytes',
  'maxSubscriptionsPerClient',
  'maxTopicLevels',
  'partialPacketTimeoutSeconds',
  'maxPartialPacketBytes',
] as const;
/** A limit's key. */
export type LimitKey = (typeof LIMIT_KEYS)[number];

/** The flags of `ops broker limits set`, as typed (strings) or as numbers from the admin socket. */
export type LimitArgs = { [K in LimitKey]?: string | number };

const FLAG: Readonly<Record<LimitKey, string>> = {
  maxConnectionsPerAddress: '--max-connections-per-address',
  maxConnectionRatePerAddress: '--max-connection-rate',
  maxConnectPacketBytes: '--max-connect-size',
  maxAuthFailuresPerAddress: '--max-auth-failures',
  authFailureWindowSeconds: '--auth-failure-window',
  authBlockSeconds: '--auth-block',
  maxSessionQueueBytes: '--max-session-queue-size',
  maxSubscriptionsPerClient: '--max-subscriptions',
  maxTopicLevels: '--max-topic-levels',
  partialPacketTimeoutSeconds: '--partial-packet-timeout',
  maxPartialPacketBytes: '--max-partial-packet-bytes',
};

/** Accepted range of each whole-number key, and what the message calls its unit. */
const RANGE: Readonly<Record<Exclude<LimitKey, SizeKey>, { min: number; max: number; what: string }>> = {
  maxConnectionsPerAddress: { min: 0, max: 1_000_000, what: 'a whole number from 0 (unlimited) to 1000000' },
  maxConnectionRatePerAddress: { min: 0, max: 1_000_000, what: 'a whole number from 0 (unlimited) to 1000000' },
  maxAuthFailuresPerAddress: { min: 0, max: 1_000_000, what: 'a whole number from 0 (off) to 1000000' },
  authFailureWindowSeconds: { min: 1, max: MAX_AUTH_SECONDS, what: `a whole number of seconds from 1 to ${MAX_AUTH_SECONDS}` },
  authBlockSeconds: { min: 1, max: MAX_AUTH_SECONDS, what: `a whole number of seconds from 1 to ${MAX_AUTH_SECONDS}` },
  maxSubscriptionsPerClient: { min: 1, max: 10_000_000, what: 'a whole number from 1 to 10000000' },
  maxTopicLevels: { min: 1, max: 32_768, what: 'a whole number from 1 to 32768' },
  partialPacketTimeoutSeconds: { min: 1, max: 3600, what: 'a whole number of seconds from 1 to 3600' },
};

/** The keys given as sizes (bytes, or a quantity like 64Ki). */
type SizeKey = 'maxConnectPacketBytes' | 'maxSessionQueueBytes' | 'maxPartialPacketBytes';
const isSizeKey = (key: LimitKey): key is SizeKey => key === 'maxConnectPacketBytes' || key === 'maxSessionQueueBytes' || key === 'maxPartialPacketBytes';

/** Accepted range of each size key. */
const SIZE_RANGE: Readonly<Record<SizeKey, { min: number; max: number; example: string }>> = {
  maxConnectPacketBytes: { min: MIN_CONNECT_PACKET_BYTES, max: MAX_PACKET, example: '65536 or 64Ki' },
  maxSessionQueueBytes: { min: MIN_SESSION_QUEUE_BYTES, max: MAX_SESSION_QUEUE_BYTES, example: '1048576 or 1Mi' },
  maxPartialPacketBytes: { min: MIN_PARTIAL_PACKET_BYTES, max: MAX_PARTIAL_PACKET_BYTES, example: '134217728 or 128Mi' },
};

function parseValue(key: LimitKey, value: string | number): number {
  if (isSizeKey(key)) {
    const { min, max, example } = SIZE_RANGE[key];
    const n = typeof value === 'number' ? value : parseQuantity(value.trim());
    if (n === undefined || !Number.isInteger(n) || n < min || n > max) {
      throw new OpsError('CFG_FLAG_INVALID', { message: `${FLAG[key]} must be a size in bytes from ${min} to ${max} (e.g. ${example}), got '${value}'.` });
    }
    return n;
  }
  const { min, max, what } = RANGE[key];
  const n = typeof value === 'number' ? value : /^[0-9]+$/.test(value.trim()) ? Number(value) : undefined;
  if (n === undefined || !Number.isInteger(n) || n < min || n > max) {
    throw new OpsError('CFG_FLAG_INVALID', { message: `${FLAG[key]} must be ${what}, got '${value}'.` });
  }
  return n;
}

/** Limit values, checked (see {@link parseLimitArgs}). */
export type LimitValues = { [K in LimitKey]?: number };

/** Checks the given flags and returns their values; `CFG_FLAG_INVALID` names a bad one, or says none was given. */
export function parseLimitArgs(args: LimitArgs): LimitValues {
  const values: LimitValues = {};
  for (const key of LIMIT_KEYS) {
    const value = args[key];
    if (value !== undefined) values[key] = parseValue(key, value);
  }
  if (Object.keys(values).length === 0) throw new OpsError('CFG_FLAG_INVALID', { message: `Give at least one of ${LIMIT_KEYS.map((k) => FLAG[k]).join(', ')}.` });
  return values;
}

/** Checks the given flags and returns `current` with them applied; `CFG_FLAG_INVALID` names a bad one. */
export function updateConnectionLimits(current: ConnectionLimitSettings, args: LimitArgs): ConnectionLimitSettings {
  return { ...current, ...parseLimitArgs(args) };
}

/** Reads the stored `limits` of runtime.json (unknown keys dropped); throws a plain Error naming a bad value. */
export function readConnectionLimits(raw: unknown): ConnectionLimitSettings {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('limits must be an object');
  const out: ConnectionLimitSettings = {};
  for (const key of LIMIT_KEYS) {
    const value = (raw as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const min = key === 'maxSessionQueueBytes' ? MIN_SESSION_QUEUE_BYTES : 0;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) throw new Error(`limits.${key} must be a whole number >= ${min}`);
    if ((key === 'authFailureWindowSeconds' || key === 'authBlockSeconds') && (value < 1 || value > MAX_AUTH_SECONDS)) throw new Error(`limits.${key} must be from 1 to ${MAX_AUTH_SECONDS}`);
    out[key] = value;
  }
  return out;
}

/**
 * The limits with defaults filled in, as `limits show` prints them; those that follow the memory
 * profile take `profileDefaults` (see broker/broker-options.ts).
 */
export function effectiveConnectionLimits(settings: ConnectionLimitSettings, profileDefaults: Readonly<Record<ProfileLimitKey, number>>): Required<ConnectionLimitSettings> {
  return { ...DEFAULT_CONNECTION_LIMITS, ...profileDefaults, ...settings };
}
