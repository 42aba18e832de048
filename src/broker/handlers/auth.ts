import type { AuthPacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Connection } from '../connection.js';
import type { AuthenticationResult } from '../hooks.js';

/**
 * AUTH from a connected client: re-authentication [MQTT-4.12.1-1]. The engine never sends AUTH
 * 0x18 (its methods answer in one step), so the only AUTH a client may send is 0x19 with the
 * CONNECT's Authentication Method; anything else is a protocol error. The port's `reauthenticate`
 * hook decides: success answers AUTH 0x00 and updates the identity and credential expiry (the
 * principal must stay the session's owner, see `session-owner.ts`); failure
 * sends DISCONNECT 0x87 and closes [MQTT-4.12.1-2]. Other packets keep flowing meanwhile, under the
 * identity established before.
 */
export function handleAuth(connection: Connection, packet: AuthPacket): void {
  if (connection.version !== 5) {
    connection.close(); // MQTT 3.1.1 has no AUTH packet
    return;
  }
  const method = connection.credentials.method;
  if (method === undefined) {
    // [MQTT-4.12.0-7] no Authentication Method in CONNECT: the client must not send AUTH
    connection.disconnect(ReasonCode.ProtocolError, `AUTH (reason ${hex(packet.reasonCode)}) without an authentication method in CONNECT`);
    return;
  }
  if (packet.reasonCode !== ReasonCode.ReAuthenticate) {
    // [MQTT-3.15.2-1] 0x00 is the server's; 0x18 answers a server AUTH 0x18, which this broker never sends
    connection.disconnect(ReasonCode.ProtocolError, `AUTH reason ${hex(packet.reasonCode)} is unexpected: only 0x19 (re-authenticate) starts an exchange`);
    return;
  }
  const requested = packet.properties?.authenticationMethod;
  if (requested !== method) {
    // [MQTT-4.12.1-1] re-authentication uses the method the client authenticated with
    connection.disconnect(ReasonCode.ProtocolError, `re-authentication must use the CONNECT's authentication method ${method}, not ${requested ?? 'none'}`);
    return;
  }
  const reauthenticate = connection.hooks.reauthenticate;
  if (reauthenticate === undefined) {
    fail(connection, { reasonCode: ReasonCode.NotAuthorized, reasonString: 're-authentication is not supported on this port' });
    return;
  }
  if (!connection.credentials.beginReauthentication()) {
    connection.disconnect(ReasonCode.ProtocolError, 'AUTH 0x19 while a re-authentication is already in progress');
    return;
  }
  let decision: AuthenticationResult | Promise<AuthenticationResult>;
  try {
    decision = reauthenticate({
      connection: connection.info,
      clientId: connection.clientId,
      username: connection.credentials.username,
      password: undefined,
      protocolVersion: 5,
      authenticationMethod: method,
      authenticationData: packet.properties?.authenticationData,
    });
  } catch {
    decision = { reasonCode: ReasonCode.UnspecifiedError };
  }
  const finish = (result: AuthenticationResult): void => {
    connection.credentials.endReauthentication();
    if (connection.state === 'closed') return;
    if (result.reasonCode !== ReasonCode.Success) {
      fail(connection, result);
      return;
    }
    const owner = connection.session?.owner;
    if (result.principal !== undefined && owner !== undefined && result.principal !== owner) {
      // The session stays bound to the identity that created it: new credentials must be the same identity's.
      fail(connection, { reasonCode: ReasonCode.NotAuthorized, reasonString: 're-authentication as another identity than the session owner' });
      return;
    }
    connection.credentials.renew({ username: result.username, attributes: result.attributes, expiresAt: result.expiresAt });
    connection.send({
      cmd: 'auth',
      reasonCode: ReasonCode.Success,
      // [MQTT-4.12.0-5] every AUTH carries the CONNECT's Authentication Method
      properties: { authenticationMethod: method, ...(result.authenticationData !== undefined ? { authenticationData: result.authenticationData } : {}) },
    });
    connection.core.logger.debug({ clientId: connection.clientId, method }, 'client re-authenticated');
  };
  if (decision instanceof Promise) {
    // A promise continuation: outside the packet boundary, so it runs in the connection's own.
    decision.then(
      (result) => connection.contain('connect-decision', () => finish(result)),
      () => connection.contain('connect-decision', () => finish({ reasonCode: ReasonCode.UnspecifiedError })),
    );
  }
  else finish(decision);
}

/** A failed re-authentication: DISCONNECT 0x87 (the only DISCONNECT code for it) with the reason, and close [MQTT-4.12.1-2]. */
function fail(connection: Connection, result: AuthenticationResult): void {
  const reason = result.reasonString ?? `re-authentication failed (reason ${hex(result.reasonCode)})`;
  connection.core.counters.authenticationFailures++;
  connection.core.logger.info({ clientId: connection.clientId, reasonCode: result.reasonCode, reason }, 're-authentication failed: client disconnected');
  connection.disconnect(ReasonCode.NotAuthorized, reason);
}

function hex(code: number | undefined): string {
  return `0x${(code ?? 0).toString(16).padStart(2, '0')}`;
}
