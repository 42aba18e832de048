/**
 * Wire constants of the AIO state store protocol (docs/state-store-protocol.md §1, §2.4).
 * These strings are protocol data, not OpsErrors.
 */

/** The service id in every state store topic. */
export const STATE_STORE_ID = 'FA9AE35F-2F64-47CD-9BFF-08E2B32A0FE8';

/** Topic of state store requests (§1.1). */
export const REQUEST_TOPIC = `statestore/v1/${STATE_STORE_ID}/command/invoke`;

/** Response topics beginning with this prefix are forbidden (§1.1). */
export const NOTIFY_TOPIC_ROOT = `clients/statestore/v1/${STATE_STORE_ID}`;

/** Content type of responses and notifications. */
export const CONTENT_TYPE = 'application/octet-stream';

/** Reserved user property names (§1.2, §1.3). */
export const PROP = {
  timestamp: '__ts',
  fencingToken: '__ft',
  status: '__stat',
  statusMessage: '__stMsg',
  protocolVersion: '__protVer',
  requestProtocolVersion: '__requestProtVer',
  supportedMajorVersions: '__supProtMajVer',
} as const;

/** The protocol version the service speaks. */
export const PROTOCOL_VERSION = '1.0';

/** Maximum skew (ms) of a request `__ts` / `__ft` ahead of the server clock (§3.2). */
export const MAX_CLOCK_SKEW_MS = 60_000;

/** The exact error messages of §2.4 (sent as `-ERR <message>\r\n`). */
export const ERR = {
  timestampSkew: 'the request timestamp is too far in the future; ensure that the client and broker system clocks are synchronized',
  fencingTokenRequired: 'a fencing token is required for this request',
  fencingTokenSkew:
    'the request fencing token timestamp is too far in the future; ensure that the client and broker system clocks are synchronized',
  fencingTokenLower: 'the request fencing token is a lower version than the fencing token protecting the resource',
  quotaExceeded: 'the quota has been exceeded',
  syntax: 'syntax error',
  notAuthorized: 'not authorized',
  unknownCommand: 'unknown command',
  wrongArgs: 'wrong number of arguments',
  missingTimestamp: 'missing timestamp',
  malformedTimestamp: 'malformed timestamp',
  keyLengthZero: 'the key length is zero',
} as const;

/** One of the documented error messages. */
export type StateStoreErrorMessage = (typeof ERR)[keyof typeof ERR];

/** Upper-case hexadecimal (RFC 4648 base16) of raw bytes. */
export function hexUpper(bytes: Uint8Array | string): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}

/** The notification topic of `clientId` for `key` (§4.2). */
export function notificationTopic(clientId: string, key: Uint8Array): string {
  return `${NOTIFY_TOPIC_ROOT}/${hexUpper(clientId)}/command/notify/${hexUpper(key)}`;
}
