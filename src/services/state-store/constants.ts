/**
 * Server-side constants of the AIO state store protocol (docs/reference/state-store-protocol.md
 * §2.4, §3.2): the clock-skew bound and the exact error messages. The wire constants both sides
 * share (topics, user properties) are in shared/state-store-wire.ts. These strings are protocol
 * data, not OpsErrors.
 */

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
