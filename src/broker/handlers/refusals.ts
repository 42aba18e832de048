/**
 * Answers to input that gets no session: a connection refused by the abuse limits before its
 * CONNECT was read, a first packet that is not a valid CONNECT, and input that is not MQTT.
 * Protocol errors end here as a reason-coded CONNACK or DISCONNECT; nothing throws out.
 */
import type { DecodeError } from '../../protocol/decoder.js';
import type { Packet } from '../../protocol/packets.js';
import { ReasonCode, toV3ConnackCode } from '../../protocol/reason-codes.js';
import { warnAbuse } from '../abuse-log.js';
import type { Connection, ProtocolHandlers } from '../connection.js';

/** A refusal decided before the CONNECT is read (abuse limits): the CONNACK reason. */
export interface Refusal {
  readonly reasonCode: number;
  readonly reasonString: string;
}

/**
 * The protocol of a connection refused before it is served (abuse limits): its first packet is
 * answered with the refusal and the connection closes; input that is not MQTT is refused as usual.
 */
export function refusingProtocol(refusal: Refusal): ProtocolHandlers {
  return { packet: (connection, packet) => answerRefusal(connection, packet, refusal), decodeError: handleDecodeError };
}

/** Writes a refusing CONNACK: the v5 reason code and reason string, or the nearest 3.1.1 return code [MQTT-3.2.2-7]. */
export function sendConnackRefusal(connection: Connection, reasonCode: number, reasonString?: string): void {
  connection.send(
    connection.version === 5
      ? { cmd: 'connack', sessionPresent: false, reasonCode, ...(reasonString !== undefined ? { properties: { reasonString } } : {}) }
      : { cmd: 'connack', sessionPresent: false, returnCode: toV3ConnackCode(reasonCode) },
  );
}

/**
 * The first packet of a refused connection: answers it (a CONNACK for an MQTT 3.1.1/5.0 CONNECT,
 * with the refusal's reason [MQTT-3.2.2-7]) and closes.
 */
function answerRefusal(connection: Connection, packet: Packet, refusal: Refusal): void {
  connection.core.counters.connectionsRejected++;
  if (packet.cmd === 'connect' && (packet.protocolVersion === 4 || packet.protocolVersion === 5)) {
    connection.useProtocolVersion(packet.protocolVersion);
    sendConnackRefusal(connection, refusal.reasonCode, refusal.reasonString);
  }
  connection.close();
}

/** The input was not MQTT. */
export function handleDecodeError(connection: Connection, error: DecodeError): void {
  if (connection.state === 'closed') return;
  if (connection.state === 'awaiting-connect') {
    if (error.failure === 'too-large') refuseHugeConnect(connection, error);
    else refuseBadConnect(connection, error);
    return;
  }
  const core = connection.core;
  if (error.failure === 'over-budget') {
    core.counters.partialPacketsRefused++;
    warnAbuse(core.logger, 'partial-packet-budget', { remoteAddress: connection.info.remoteAddress, clientId: connection.clientId, reason: error.message }, 'connection closed: too many bytes of incomplete packets');
    connection.disconnect(ReasonCode.QuotaExceeded, error.message); // 0x97: the broker-wide bound on partial packets
    return;
  }
  core.logger.debug({ clientId: connection.clientId, failure: error.failure, message: error.message }, 'undecodable input');
  // [MQTT-4.13.1-1] malformed packet or protocol error: DISCONNECT 0x81 or 0x82 (v5), or close; 0x95 for an oversized one
  connection.disconnect(reasonForFailure(error), error.message);
}

/**
 * A first packet that is not a valid CONNECT: closed [MQTT-3.1.4-1], after a CONNACK with 0x81
 * or 0x82 when it is an MQTT 5 CONNECT (section 4.13); a CONNECT of an unknown protocol level
 * gets return code 0x01 [MQTT-3.1.2-2]. MQTT 3.1.1 has no return code for a malformed CONNECT.
 */
function refuseBadConnect(connection: Connection, error: DecodeError): void {
  const core = connection.core;
  core.counters.connectionsRejected++;
  core.logger.debug({ failure: error.failure, message: error.message, remoteAddress: connection.info.remoteAddress }, 'invalid CONNECT refused');
  if (error.failure === 'unsupported-version') {
    connection.useProtocolVersion(4);
    sendConnackRefusal(connection, ReasonCode.UnsupportedProtocolVersion);
  } else if (error.connectLevel === 5) {
    connection.useProtocolVersion(5);
    sendConnackRefusal(connection, reasonForFailure(error), error.message);
  }
  connection.close();
}

/** A CONNECT over the pre-authentication limit, refused at its fixed header (nothing of it buffered). */
function refuseHugeConnect(connection: Connection, error: DecodeError): void {
  const counters = connection.core.counters;
  counters.connectsTooLarge++;
  counters.connectionsRejected++;
  warnAbuse(connection.core.logger, 'connect-too-large', { remoteAddress: connection.info.remoteAddress, reason: error.message }, 'connection refused: CONNECT too large');
  if (error.connectLevel === 5) {
    connection.useProtocolVersion(5);
    // 0x95 Packet too large [MQTT-3.2.2-7]; MQTT 3.1.1 has no such return code: the connection just closes
    sendConnackRefusal(connection, ReasonCode.PacketTooLarge, error.message);
  }
  connection.close();
}

/** The v5 reason code for a decoding failure. */
function reasonForFailure(error: DecodeError): number {
  switch (error.failure) {
    case 'too-large':
      return ReasonCode.PacketTooLarge;
    case 'protocol-error':
      return ReasonCode.ProtocolError;
    default:
      return ReasonCode.MalformedPacket;
  }
}
