import type { PubackPacket, PubcompPacket, PubrecPacket, PubrelPacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Connection } from '../connection.js';

/** PUBACK: a QoS 1 delivery is done; the window opens [MQTT-4.3.2-4]. Unknown ids are ignored. */
export function handlePuback(connection: Connection, packet: PubackPacket): void {
  connection.session?.complete(packet.messageId as number);
}

/**
 * PUBREC: the subscriber has a QoS 2 message; answer PUBREL [MQTT-4.3.3-4]. A reason code of
 * 0x80 or above ends the exchange without PUBREL [MQTT-4.3.3-4].
 */
export function handlePubrec(connection: Connection, packet: PubrecPacket): void {
  const session = connection.session;
  const packetId = packet.messageId as number;
  if (session === undefined) return;
  if ((packet.reasonCode ?? 0) >= 0x80) {
    session.complete(packetId);
    return;
  }
  if (session.pubrecReceived(packetId)) {
    connection.sendPubrel(packetId);
    return;
  }
  // [MQTT-4.3.3-4] a PUBREC below 0x80 is answered with PUBREL; for an unknown packet id its reason is 0x92 [MQTT 5 §3.6.2.1], so the client can finish
  connection.sendAck('pubrel', packetId, ReasonCode.PacketIdentifierNotFound);
}

/**
 * PUBREL: release the inbound QoS 2 packet id and answer PUBCOMP [MQTT-4.3.3-11]. In cluster mode
 * the PUBCOMP waits until the id's stored mark is deleted (a client may reuse the id after PUBCOMP,
 * and a mark left behind would make another frontend take that new PUBLISH for a resend); when the
 * deletion fails, the id stays taken and the connection closes without PUBCOMP (the client sends
 * PUBREL again after reconnecting).
 */
export function handlePubrel(connection: Connection, packet: PubrelPacket): void {
  const packetId = packet.messageId as number;
  const session = connection.session;
  const released = session === undefined ? false : session.releaseIncomingQos2(packetId);
  if (session === undefined || released === false || released === undefined) {
    connection.sendAck('pubcomp', packetId, released === false ? ReasonCode.PacketIdentifierNotFound : ReasonCode.Success);
    return;
  }
  released.then(
    () => connection.sendAck('pubcomp', packetId, ReasonCode.Success),
    (error: unknown) => {
      session.incomingQos2.add(packetId);
      connection.core.onStoreError(error);
      connection.disconnect(ReasonCode.UnspecifiedError, 'the release of a QoS 2 packet id was not stored');
    },
  );
}

/** PUBCOMP: a QoS 2 delivery is done [MQTT-4.3.3-5]. */
export function handlePubcomp(connection: Connection, packet: PubcompPacket): void {
  connection.session?.complete(packet.messageId as number);
}
