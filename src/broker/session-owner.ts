/**
 * Who owns a session. A session is bound to the identity whose CONNECT created it, so that
 * another identity reusing the client id can neither resume it (inherit its subscriptions and
 * queued messages), nor discard it with Clean Start, nor take over its connection: such a CONNECT
 * is refused with 0x87 Not authorized (3.1.1: return code 5), whatever an authorization rule says
 * of the client id, and the owner stays connected (see `SessionRegistry.open`).
 *
 * The identity is the authentication's principal ({@link AuthenticationResult.principal}); a port
 * without authentication has one anonymous identity per listener port, so its clients share their
 * sessions among themselves, but not with clients of other ports.
 */
import type { AuthenticationResult, ConnectionInfo } from './hooks.js';

/** The identity of every client of a port without authentication (one per listener port). */
export function anonymousPrincipal(listener: string | undefined, port: number | undefined): string {
  return `anonymous@${listener ?? ''}:${port ?? ''}`;
}

/**
 * The principal a CONNECT's session is bound to: the authentication's, else the authenticated
 * username (hooks that name no principal), else the port's anonymous identity.
 */
export function sessionOwnerOf(info: ConnectionInfo, auth: AuthenticationResult | undefined, username: string | undefined): string {
  if (auth?.principal !== undefined) return auth.principal;
  if (auth !== undefined && username !== undefined) return `user:${username}`;
  return anonymousPrincipal(info.listener, info.port);
}
