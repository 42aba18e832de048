import type { DisconnectPacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Connection } from '../connection.js';

/** DISCONNECT from the client: will kept or discarded, session expiry possibly changed. */
export function handleDisconnect(connection: Connection, packet: DisconnectPacket): void {
  const session = connection.session;
  const expiry = packet.properties?.sessionExpiryInterval;
  if (expiry !== undefined && session !== undefined) {
    if (session.expiryIntervalSeconds === 0 && expiry !== 0) {
      // [MQTT-3.14.2-2] cannot set a non-zero expiry when CONNECT said 0
      connection.disconnect(ReasonCode.ProtocolError, 'Session Expiry Interval was 0 at CONNECT');
      return;
    }
    session.expiryIntervalSeconds = Math.min(expiry, connection.core.options.maxSessionExpirySeconds);
  }
  // [MQTT-3.14.4-3] a normal DISCONNECT discards the will; 0x04 asks for it to be published
  const reasonCode = packet.reasonCode ?? ReasonCode.Success;
  connection.clientDisconnected(reasonCode, reasonCode === ReasonCode.DisconnectWithWill);
}
