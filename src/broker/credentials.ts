/**
 * Who a connection's client is and what the engine remembers of its credentials after CONNECT:
 * the client id, username and authorization attributes, the enhanced Authentication Method it
 * negotiated (AUTH packets must use it [MQTT-4.12.0-5]), whether a re-authentication is under way,
 * and when the credentials expire. The expiry is enforced by the broker's timeout sweep with keep
 * alive (no timer per connection, see connection-timeouts.ts): at expiry the client is
 * disconnected (v5: DISCONNECT 0x87 with a reason string; 3.1.1: the connection closes), as AIO
 * disconnects clients whose token expired, unless a re-authentication moved the expiry first.
 */
import type { ClientIdentity } from './hooks.js';

const NO_ATTRIBUTES: Readonly<Record<string, string>> = Object.freeze({});

/** What an accepted CONNECT established. */
export interface AcceptedCredentials {
  readonly clientId: string;
  readonly username: string | undefined;
  /** Attributes established by authentication, for authorization (none when undefined). */
  readonly attributes: Readonly<Record<string, string>> | undefined;
  /** The CONNECT's Authentication Method (v5 enhanced authentication), if any. */
  readonly method: string | undefined;
  /** When the credentials expire, ms since the epoch (never when undefined). */
  readonly expiresAt: number | undefined;
}

/** What a successful re-authentication changes: fields left undefined keep their value, except the expiry. */
export interface RenewedCredentials {
  readonly username: string | undefined;
  readonly attributes: Readonly<Record<string, string>> | undefined;
  readonly expiresAt: number | undefined;
}

/** The identity and credentials of one connection (owned by it; changed only through these methods). */
export class Credentials {
  #clientId = '';
  #username: string | undefined;
  #attributes: Readonly<Record<string, string>> = NO_ATTRIBUTES;
  #identity: ClientIdentity | undefined;
  #method: string | undefined;
  #reauthenticating = false;
  #expiresAt: number | undefined;

  get clientId(): string {
    return this.#clientId;
  }

  get username(): string | undefined {
    return this.#username;
  }

  /** Who this client is, for authorization hooks (one object per identity, not one per PUBLISH). */
  get identity(): ClientIdentity {
    return (this.#identity ??= { clientId: this.#clientId, username: this.#username, attributes: this.#attributes });
  }

  /** The Authentication Method the connection's CONNECT used (undefined: none, AUTH is a protocol error [MQTT-4.12.0-7]). */
  get method(): string | undefined {
    return this.#method;
  }

  /** When the credentials of CONNECT (or the last re-authentication) expire, ms since the epoch. */
  get expiresAt(): number | undefined {
    return this.#expiresAt;
  }

  /** Records the identity and credentials of an accepted CONNECT. */
  accept(accepted: AcceptedCredentials): void {
    this.#clientId = accepted.clientId;
    this.#username = accepted.username;
    if (accepted.attributes !== undefined) this.#attributes = accepted.attributes;
    this.#method = accepted.method;
    this.#reauthenticating = false;
    this.#expiresAt = accepted.expiresAt;
    this.#identity = undefined;
  }

  /** Marks a re-authentication as started; false when one is already under way (or no method was negotiated). */
  beginReauthentication(): boolean {
    if (this.#method === undefined || this.#reauthenticating) return false;
    this.#reauthenticating = true;
    return true;
  }

  /** Marks the re-authentication as finished. */
  endReauthentication(): void {
    this.#reauthenticating = false;
  }

  /** A successful re-authentication: the new username and attributes (when given), and the new expiry (or none). */
  renew(renewed: RenewedCredentials): void {
    if (renewed.attributes !== undefined) this.#attributes = renewed.attributes;
    if (renewed.username !== undefined) this.#username = renewed.username;
    this.#expiresAt = renewed.expiresAt;
    this.#identity = undefined;
  }
}
