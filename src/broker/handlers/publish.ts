import { isUtf8 } from 'node:buffer';
import type { PublishPacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import { OpsError } from '../../shared/errors.js';
import { checkTopicName } from '../../shared/topic.js';
import type { Connection } from '../connection.js';
import { createMessage } from './message-from-packet.js';

/** Inbound PUBLISH at QoS 0, 1 and 2: aliases, checks, inbound window, routing, then the ack. */
export function handlePublish(connection: Connection, packet: PublishPacket): void {
  const core = connection.core;
  core.counters.messagesReceived++;
  const v5 = connection.version === 5;
  const props = packet.properties;
  const qos = packet.qos;

  if (qos === 0 && packet.dup) {
    connection.disconnect(ReasonCode.ProtocolError, 'DUP set on a QoS 0 PUBLISH'); // [MQTT-3.3.1-2]
    return;
  }
  let topic = packet.topic;
  if (v5 && props?.topicAlias !== undefined) {
    const alias = props.topicAlias;
    if (alias === 0 || alias > core.options.topicAliasMaximum) {
      connection.disconnect(ReasonCode.TopicAliasInvalid, `topic alias ${alias} is outside 1..${core.options.topicAliasMaximum}`); // [MQTT-3.3.2-8]
      return;
    }
    if (topic.length > 0) connection.aliasesIn.set(alias, topic); // [MQTT-3.3.2-12] (re)defines the alias
    else {
      const known = connection.aliasesIn.get(alias);
      if (known === undefined) {
        connection.disconnect(ReasonCode.ProtocolError, `topic alias ${alias} was never defined`);
        return;
      }
      topic = known;
    }
  }
  const problem = checkTopicName(topic, core.limits.maxTopicLevels);
  if (problem !== undefined) {
    connection.disconnect(ReasonCode.TopicNameInvalid, problem); // [MQTT-3.3.2-2]
    return;
  }
  if (v5 && props?.subscriptionIdentifier !== undefined) {
    connection.disconnect(ReasonCode.ProtocolError, 'a client PUBLISH must not carry a Subscription Identifier'); // [MQTT-3.3.4-6]
    return;
  }

  if (qos > 0) {
    const session = connection.session;
    // QoS 2 retransmission of a packet id not yet released: acknowledge, do not route again [MQTT-4.3.3-10].
    if (qos === 2 && session !== undefined && session.incomingQos2.has(packet.messageId as number)) {
      connection.sendAck('pubrec', packet.messageId as number, ReasonCode.Success);
      return;
    }
    // QoS 1 counts until its PUBACK is sent, QoS 2 until PUBREL releases it
    if (connection.inboundPending + (session?.incomingQos2.size ?? 0) >= core.options.receiveMaximum) {
      connection.disconnect(ReasonCode.ReceiveMaximumExceeded, 'more unacknowledged QoS 1/2 PUBLISHes than Receive Maximum'); // [MQTT-3.3.4-7]
      return;
    }
  }

  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
  let refusal: number | undefined;
  if (v5 && props?.payloadFormatIndicator === true && !isUtf8(payload)) {
    refusal = ReasonCode.PayloadFormatInvalid; // [MQTT-3.3.2-4] may be refused
  } else if (topic.startsWith('$SYS') || !authorized(connection, topic)) {
    refusal = ReasonCode.NotAuthorized;
  }
  if (refusal !== undefined) {
    core.logger.debug({ clientId: connection.clientId, topic, reasonCode: refusal }, 'publish refused');
    acknowledge(connection, packet, v5 ? refusal : ReasonCode.Success, false);
    return;
  }

  const message = createMessage({ topic, payload, qos, retain: packet.retain, ...(props !== undefined ? { properties: props } : {}) }, connection.clientId, core.options.maxMessageExpirySeconds);
  const { matched, refused, congested, completion, undeliverable } = core.publish(message);
  if (congested !== undefined) for (const target of congested) core.throttle.consider(connection, target);
  if (qos === 0) return;
  let reason: number = ReasonCode.Success;
  if (undeliverable) {
    // The message cannot be encoded for any subscriber (counted and logged by the router): refused,
    // 0x83 on v5; 3.1.1 has no negative acknowledgement, so the connection closes.
    if (!v5) {
      connection.disconnect(ReasonCode.ImplementationSpecificError, 'the message cannot be encoded'); // 3.1.1: closes, the reason goes to the log
      return;
    }
    acknowledge(connection, packet, ReasonCode.ImplementationSpecificError, false);
    return;
  }
  if (v5 && matched === 0) reason = ReasonCode.NoMatchingSubscribers;
  else if (refused > 0) {
    // A subscriber that could take it was refused by a broker-wide backstop (memory budget, disk
    // buffer or store full): 0x00 would claim it reached every one, so 0x97 (the publisher may send
    // again; the others may get it twice, as QoS 1 allows), or for 3.1.1, which has no negative
    // acknowledgement, no PUBACK at all: the connection closes. A session dropping it at its own
    // queue bound is not a refusal: that is its policy.
    if (!v5) {
      connection.disconnect(ReasonCode.QuotaExceeded, 'a subscriber could not take the message'); // 3.1.1: closes, the reason goes to the log
      return;
    }
    reason = ReasonCode.QuotaExceeded;
  }
  if (completion === undefined) {
    acknowledge(connection, packet, reason, reason < ReasonCode.UnspecifiedError);
    return;
  }
  // [MQTT-4.3.2-2] acknowledge only once the message is stored where policy says
  connection.inboundPending++;
  awaitStored(connection, completion, packet, reason);
}

/**
 * PUBLISHes of one connection whose store writes share one completion (one group-commit batch):
 * acknowledged together, in arrival order, by one handler per batch instead of one per message.
 */
export interface StoredAcks {
  readonly completion: Promise<void>;
  readonly packets: PublishPacket[];
  readonly reasons: number[];
}

/** Queues the ack of `packet` until `completion` (its store write) settles. */
function awaitStored(connection: Connection, completion: Promise<void>, packet: PublishPacket, reason: number): void {
  const open = connection.storedAcks;
  if (open !== undefined && open.completion === completion) {
    open.packets.push(packet);
    open.reasons.push(reason);
    return;
  }
  const group: StoredAcks = { completion, packets: [packet], reasons: [reason] };
  connection.storedAcks = group;
  // A promise continuation: outside the packet boundary, so it runs in the connection's own.
  completion.then(
    () => connection.contain('stored-ack', () => settleStored(connection, group, undefined)),
    (error: unknown) => connection.contain('stored-ack', () => settleStored(connection, group, error)),
  );
}

/** Sends the acks of a settled group: success, or the store's error (0x97 when full; 3.1.1 closes). */
function settleStored(connection: Connection, group: StoredAcks, error: unknown): void {
  if (connection.storedAcks === group) connection.storedAcks = undefined;
  const { packets, reasons } = group;
  connection.inboundPending -= packets.length;
  if (error === undefined) {
    for (let i = 0; i < packets.length; i++) {
      const reason = reasons[i] as number;
      acknowledge(connection, packets[i] as PublishPacket, reason, reason < ReasonCode.UnspecifiedError);
    }
    return;
  }
  const core = connection.core;
  // The store is full (persistence maxSize): 0x97; 3.1.1 has no negative ack, so the connection closes.
  const full = error instanceof OpsError && error.code === 'STO_QUOTA_EXCEEDED';
  core.onStoreError(error); // once per failed batch, not once per message
  if (connection.version !== 5) {
    connection.disconnect(full ? ReasonCode.QuotaExceeded : ReasonCode.UnspecifiedError, 'the store write failed'); // 3.1.1: closes, the reason goes to the log
    return;
  }
  for (const packet of packets) acknowledge(connection, packet, full ? ReasonCode.QuotaExceeded : ReasonCode.UnspecifiedError, false);
}

/** PUBACK (QoS 1) or PUBREC (QoS 2, packet id remembered until PUBREL). */
function acknowledge(connection: Connection, packet: PublishPacket, reasonCode: number, accepted: boolean): void {
  const messageId = packet.messageId as number;
  if (packet.qos === 1) {
    connection.sendAck('puback', messageId, reasonCode);
    return;
  }
  if (packet.qos !== 2) return;
  // [MQTT-4.3.3-8] a refused QoS 2 message (reason >= 0x80) does not wait for PUBREL
  if (accepted || connection.version !== 5) connection.session?.incomingQos2.add(messageId);
  connection.sendAck('pubrec', messageId, reasonCode);
}

function authorized(connection: Connection, topic: string): boolean {
  const check = connection.hooks.authorizePublish;
  if (check === undefined) return true;
  return check(connection.identity, topic);
}
