/**
 * Wire constants of the AIO state store protocol shared by the broker's state store service and
 * the CLI's client (docs/reference/state-store-protocol.md §1, §4): topics, reserved user
 * properties, content type and protocol version. These strings are protocol data, not OpsErrors.
 */

/** The service id in every state store topic. */
export const STATE_STORE_ID = 'FA9AE35F-2F64-47CD-9BFF-08E2B32A0FE8';

/** Topic of state store requests (§1.1). */
export const REQUEST_TOPIC = `statestore/v1/${STATE_STORE_ID}/command/invoke`;

/** Root of the key notification topics; response topics beginning with it are forbidden (§1.1). */
export const NOTIFY_TOPIC_ROOT = `clients/statestore/v1/${STATE_STORE_ID}`;

/** Content type of requests, responses and notifications. */
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
  sourceId: '__srcId',
} as const;

/** The protocol version spoken on both sides. */
export const PROTOCOL_VERSION = '1.0';

/** Upper-case hexadecimal (RFC 4648 base16) of raw bytes (topic segments). */
export function hexUpper(bytes: Uint8Array | string): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}

/** The notification topic of `clientId` for `key` (§4.2). */
export function notificationTopic(clientId: string, key: Uint8Array): string {
  return `${NOTIFY_TOPIC_ROOT}/${hexUpper(clientId)}/command/notify/${hexUpper(key)}`;
}

/** The filter matching every key notification of `clientId` (§4.2). */
export function notificationFilter(clientId: string): string {
  return `${NOTIFY_TOPIC_ROOT}/${hexUpper(clientId)}/command/notify/+`;
}
