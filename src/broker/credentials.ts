/**
 * What the engine remembers of a connection's credentials after CONNECT: the enhanced
 * Authentication Method it negotiated (AUTH packets must use it [MQTT-4.12.0-5]) and whether a
 * re-authentication is under way. Their expiry lives on the connection itself
 * ({@link Connection.credentialsExpireAt}) and is enforced by the broker's timeout sweep with
 * keep alive (no timer per connection): at expiry the client is disconnected (v5: DISCONNECT
 * 0x87 with a reason string; 3.1.1: the connection closes), as AIO disconnects clients whose token
 * expired, unless a re-authentication moved the expiry first.
 *
 * Kept in a side table keyed by the connection (nothing here for the many connections without
 * enhanced authentication).
 */
import type { Connection } from './connection.js';

interface CredentialState {
  method: string;
  reauthenticating: boolean;
}

const states = new WeakMap<Connection, CredentialState>();

/** Records the credentials of an accepted CONNECT: its Authentication Method and expiry (either may be absent). */
export function recordCredentials(connection: Connection, method: string | undefined, expiresAt: number | undefined): void {
  connection.credentialsExpireAt = expiresAt;
  if (method !== undefined) states.set(connection, { method, reauthenticating: false });
}

/** The Authentication Method the connection's CONNECT used (undefined: none, AUTH is a protocol error). */
export function authenticationMethodOf(connection: Connection): string | undefined {
  return states.get(connection)?.method;
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
  connection.credentialsExpireAt = expiresAt;
}
