import { PINGRESP_BYTES } from '../../protocol/encoder.js';
import type { Packet } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Connection, ProtocolHandlers } from '../connection.js';
import { handlePuback, handlePubcomp, handlePubrec, handlePubrel } from './acks.js';
import { handleAuth } from './auth.js';
import { handleConnect } from './connect.js';
import { handleDisconnect } from './disconnect.js';
import { handleDecodeError } from './refusals.js';
import { handlePublish } from './publish.js';
import { handleSubscribe, handleUnsubscribe } from './subscribe.js';

/** Routes one decoded packet to its handler according to the connection's state. */
export function dispatchPacket(connection: Connection, packet: Packet): void {
  if (connection.state === 'awaiting-connect') {
    if (packet.cmd === 'connect') handleConnect(connection, packet);
    else connection.close(); // [MQTT-3.1.0-1] the first packet must be CONNECT
    return;
  }
  switch (packet.cmd) {
    case 'publish':
      handlePublish(connection, packet);
      return;
    case 'puback':
      handlePuback(connection, packet);
      return;
    case 'pubrec':
      handlePubrec(connection, packet);
      return;
    case 'pubrel':
      handlePubrel(connection, packet);
      return;
    case 'pubcomp':
      handlePubcomp(connection, packet);
      return;
    case 'subscribe':
      handleSubscribe(connection, packet);
      return;
    case 'unsubscribe':
      handleUnsubscribe(connection, packet);
      return;
    case 'pingreq':
      connection.write(PINGRESP_BYTES); // [MQTT-3.12.4-1]
      return;
    case 'disconnect':
      handleDisconnect(connection, packet);
      return;
    case 'auth':
      handleAuth(connection, packet);
      return;
    case 'connect':
      connection.disconnect(ReasonCode.ProtocolError, 'second CONNECT'); // [MQTT-3.1.0-2]
      return;
    default:
      connection.disconnect(ReasonCode.ProtocolError, `${packet.cmd} is not sent by clients`);
  }
}

/** The MQTT protocol as connections are driven by it: each decoded packet to its handler, undecodable input refused. */
export const MQTT_PROTOCOL: ProtocolHandlers = { packet: dispatchPacket, decodeError: handleDecodeError };
