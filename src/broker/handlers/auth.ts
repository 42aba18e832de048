import type { AuthPacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Connection } from '../connection.js';

/**
 * AUTH: enhanced authentication is not negotiated by any CONNECT this engine accepts yet, so
 * an AUTH packet is a protocol error [MQTT-4.12.0-1] (the security layer adds methods).
 */
export function handleAuth(connection: Connection, packet: AuthPacket): void {
  if (connection.version !== 5) {
    connection.close();
    return;
  }
  connection.disconnect(ReasonCode.ProtocolError, `AUTH (reason ${packet.reasonCode}) without an authentication method`);
}
