/**
 * The log lines of a connection's life: accepted (info), ended with who ended it and why (info),
 * and subscription changes (debug). Connection and subscription events only, never one per
 * PUBLISH; the fields are built only when the level is enabled (`isLevelEnabled`, which pino has),
 * so a disabled level costs one comparison.
 */
import { ReasonCode } from '../protocol/reason-codes.js';
import type { Logger } from '../shared/log.js';
import type { ConnectionInfo } from './hooks.js';

/** Why a connected client's connection ended. */
export type DisconnectCause =
  /** The client sent DISCONNECT with this reason code. */
  | { readonly by: 'client'; readonly reasonCode: number }
  /** The broker ended it (keep-alive timeout, takeover, protocol error, shutdown, ...). */
  | { readonly by: 'server'; readonly reasonCode?: number; readonly reasonString?: string }
  /** The socket closed or failed without a DISCONNECT. */
  | { readonly by: 'network'; readonly error?: string };

/** What the lines say about the connection (the Connection class satisfies it). */
export interface LoggedConnection {
  readonly core: { readonly logger: Logger };
  readonly info: ConnectionInfo;
  readonly clientId: string;
  /** The socket: its local port is the port served (the listener's configured port may be 0). */
  readonly socket: object;
}

/** Facts of an accepted CONNECT. */
export interface AcceptedConnect {
  readonly version: 4 | 5;
  readonly cleanStart: boolean;
  readonly keepAliveSeconds: number;
  readonly sessionPresent: boolean;
  readonly sessionExpirySeconds: number;
  readonly username: string | undefined;
}

/** Filters listed in one subscription line at most (a SUBSCRIBE may carry thousands). */
export const LOGGED_FILTERS_MAX = 50;

/** True when `logger` writes `level` (loggers without `isLevelEnabled` write every level). */
export function levelEnabled(logger: Logger, level: 'debug' | 'info'): boolean {
  return logger.isLevelEnabled?.(level) ?? true;
}

/** The remote address, listener and port of a connection, as log fields. */
function where(connection: LoggedConnection): Record<string, unknown> {
  const info = connection.info;
  const local = (connection.socket as { localPort?: unknown }).localPort;
  const port = typeof local === 'number' ? local : info.port;
  return {
    remoteAddress: info.remoteAddress,
    ...(info.listener !== undefined ? { listener: info.listener } : {}),
    ...(port !== undefined ? { port } : {}),
  };
}

/** Logs (info) a CONNECT accepted: address, listener and port, client id, protocol version, clean start, keep-alive. */
export function logConnected(connection: LoggedConnection, accepted: AcceptedConnect): void {
  const logger = connection.core.logger;
  if (!levelEnabled(logger, 'info')) return;
  logger.info(
    {
      ...where(connection),
      clientId: connection.clientId,
      ...(accepted.username !== undefined ? { username: accepted.username } : {}),
      protocol: accepted.version === 5 ? 'MQTT 5.0' : 'MQTT 3.1.1',
      cleanStart: accepted.cleanStart,
      keepAlive: accepted.keepAliveSeconds,
      sessionPresent: accepted.sessionPresent,
      sessionExpiry: accepted.sessionExpirySeconds,
    },
    'client connected',
  );
}

/** Logs (info) the end of a connected client's connection, with who ended it and why. */
export function logDisconnected(connection: LoggedConnection, cause: DisconnectCause): void {
  const logger = connection.core.logger;
  if (!levelEnabled(logger, 'info')) return;
  const fields: Record<string, unknown> = { ...where(connection), clientId: connection.clientId, by: cause.by };
  if (cause.by === 'network') {
    fields['reason'] = cause.error === undefined ? 'connection closed without DISCONNECT' : `socket error: ${cause.error}`;
  } else if (cause.reasonCode !== undefined) {
    fields['reasonCode'] = hexCode(cause.reasonCode);
    fields['reason'] = reasonName(cause.reasonCode);
    if (cause.by === 'server' && cause.reasonString !== undefined) fields['detail'] = cause.reasonString;
  } else {
    fields['reason'] = 'closed by the server';
  }
  logger.info(fields, cause.by === 'client' ? 'client disconnected' : cause.by === 'server' ? 'client disconnected by the server' : 'client connection lost');
}

/**
 * Logs (debug) a SUBSCRIBE's filters with the granted codes, in request order: `filters` holds the
 * first {@link LOGGED_FILTERS_MAX} (the caller collects them only when debug is enabled).
 */
export function logSubscribed(connection: LoggedConnection, filters: readonly string[], codes: Uint8Array): void {
  const logger = connection.core.logger;
  if (!levelEnabled(logger, 'debug')) return;
  logger.debug({ clientId: connection.clientId, ...listed(filters, codes) }, 'client subscribed');
}

/** Logs (debug) an UNSUBSCRIBE's filters with the reason codes, in request order (at most {@link LOGGED_FILTERS_MAX}). */
export function logUnsubscribed(connection: LoggedConnection, filters: readonly string[], codes: readonly number[]): void {
  const logger = connection.core.logger;
  if (!levelEnabled(logger, 'debug')) return;
  logger.debug({ clientId: connection.clientId, ...listed(filters, codes) }, 'client unsubscribed');
}

/** `filter=0x01` pairs, at most {@link LOGGED_FILTERS_MAX}, and how many more there were. */
function listed(filters: readonly string[], codes: ArrayLike<number>): Record<string, unknown> {
  const shown = Math.min(codes.length, filters.length, LOGGED_FILTERS_MAX);
  const pairs: string[] = [];
  for (let i = 0; i < shown; i++) pairs.push(`${filters[i] ?? ''}=${hexCode(codes[i] ?? 0)}`);
  return { filters: pairs, ...(codes.length > shown ? { moreFilters: codes.length - shown } : {}) };
}

/** `0x8E`. */
export function hexCode(code: number): string {
  return `0x${code.toString(16).toUpperCase().padStart(2, '0')}`;
}

const NAMES = new Map<number, string>();
for (const [name, code] of Object.entries(ReasonCode)) {
  // The first name of a shared value wins (0x00 Success, not GrantedQoS0); DISCONNECT 0x00 is a normal disconnection.
  if (!NAMES.has(code)) NAMES.set(code, name.replace('QoS', 'Qos').replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase());
}
NAMES.set(ReasonCode.Success, 'normal disconnection');

/** A reason code in words (`session taken over`), for DISCONNECT causes. */
export function reasonName(code: number): string {
  return NAMES.get(code) ?? 'unknown reason';
}
