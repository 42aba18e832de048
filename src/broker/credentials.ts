/**
 * What the engine remembers of a connection's credentials after CONNECT: the enhanced
 * Authentication Method it negotiated (AUTH packets must use it [MQTT-4.12.0-5]), whether a
 * re-authentication is under way, and when the credentials expire. At expiry the client is
 * disconnected (v5: DISCONNECT 0x87 with a reason string; 3.1.1: the connection closes), as AIO
 * disconnects clients whose token expired, unless a re-authentication moved the expiry first.
 *
 * Kept in a side table keyed by the connection (nothing here for the many connections without
 * enhanced authentication or expiry); the expiry timer is unref'd and cleared when the socket closes.
 */
import { ReasonCode } from '../protocol/reason-codes.js';
import type { Connection } from './connection.js';

/** setTimeout's longest delay; longer expiries are reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface CredentialState {
  method: string | undefined;
  expiresAt: number | undefined;
  timer: NodeJS.Timeout | undefined;
  reauthenticating: boolean;
}

const states = new WeakMap<Connection, CredentialState>();

/** Records the credentials of an accepted CONNECT: its Authentication Method and expiry (either may be absent). */
export function recordCredentials(connection: Connection, method: string | undefined, expiresAt: number | undefined): void {
  if (method === undefined && expiresAt === undefined) return;
  const state: CredentialState = { method, expiresAt: undefined, timer: undefined, reauthenticating: false };
  states.set(connection, state);
  connection.socket.once('close', () => forget(connection));
  setExpiry(connection, expiresAt);
}

/** The Authentication Method the connection's CONNECT used (undefined: none, AUTH is a protocol error). */
export function authenticationMethodOf(connection: Connection): string | undefined {
  return states.get(connection)?.method;
}

/** When the connection's credentials expire (ms since the epoch), if they do. */
export function credentialExpiryOf(connection: Connection): number | undefined {
  return states.get(connection)?.expiresAt;
}

/** Marks a re-authentication as started; false when one is already under way. */
export function beginReauthentication(connection: Connection): boolean {
  const state = states.get(connection);
  if (state === undefined || state.reauthenticating) return false;
  state.reauthenticating = true;
  return true;
}

/** Marks the re-authentication as finished. */
export function endReauthentication(connection: Connection): void {
  const state = states.get(connection);
  if (state !== undefined) state.reauthenticating = false;
}

/** Sets (or clears, with undefined) when the credentials expire; replaces any earlier expiry. */
export function setExpiry(connection: Connection, expiresAt: number | undefined): void {
  const state = states.get(connection);
  if (state === undefined) return;
  if (state.timer !== undefined) clearTimeout(state.timer);
  state.timer = undefined;
  state.expiresAt = expiresAt;
  if (expiresAt !== undefined) arm(connection, state, expiresAt);
}

function arm(connection: Connection, state: CredentialState, expiresAt: number): void {
  const delay = Math.max(0, expiresAt - Date.now());
  state.timer = setTimeout(() => {
    state.timer = undefined;
    if (connection.state === 'closed' || state.expiresAt !== expiresAt) return;
    if (Date.now() < expiresAt) {
      arm(connection, state, expiresAt); // a step of a long expiry
      return;
    }
    connection.core.logger.info({ clientId: connection.clientId, expiredAt: new Date(expiresAt).toISOString() }, 'client disconnected: its credentials expired');
    connection.disconnect(ReasonCode.NotAuthorized, `the credentials expired at ${new Date(expiresAt).toISOString()}; re-authenticate (AUTH 0x19) before expiry to stay connected`);
  }, Math.min(delay, MAX_TIMER_MS));
  state.timer.unref(); // an expiry never keeps the process alive
}

function forget(connection: Connection): void {
  const state = states.get(connection);
  if (state?.timer !== undefined) clearTimeout(state.timer);
  states.delete(connection);
}
