import { isUtf8 } from 'node:buffer';
import type { PublishPacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import { checkTopicName } from '../../shared/topic.js';
import type { Completion } from '../../storage/broker-store.js';
import { CompletionSet, watchCompletion } from '../completion.js';
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
    if (topic.length > 0) connection.defineTopicAlias(alias, topic); // [MQTT-3.3.2-12] (re)defines the alias
    else {
      const known = connection.topicOfAlias(alias);
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
    const messageId = packet.messageId as number;
    // QoS 1 counts until its PUBACK is sent, QoS 2 from its arrival until PUBREL releases it
    const quotaFull = connection.inboundPending + (session?.incomingQos2.size ?? 0) >= core.options.receiveMaximum;
    if (qos === 2 && session !== undefined && session.incomingQos2.has(messageId)) {
      // A PUBLISH on a QoS 2 packet id not yet released is acknowledged again and not routed
      // [MQTT-4.3.3-10], DUP 0 or 1. But a new one (DUP 0) while the quota is full is one PUBLISH
      // more than Receive Maximum, e.g. a client whose packet ids wrapped [MQTT-3.3.4-9].
      if (!packet.dup && quotaFull) {
        connection.disconnect(ReasonCode.ReceiveMaximumExceeded, 'a new QoS 2 PUBLISH on an unreleased packet id with Receive Maximum reached'); // [MQTT-3.3.4-7]
        return;
      }
      connection.acknowledge(packet, ReasonCode.Success);
      return;
    }
    if (quotaFull) {
      connection.disconnect(ReasonCode.ReceiveMaximumExceeded, 'more unacknowledged QoS 1/2 PUBLISHes than Receive Maximum'); // [MQTT-3.3.4-7]
      return;
    }
    // The packet id is taken at once, so a retransmission arriving before its PUBREC is not routed twice [MQTT-4.3.3-10]
    if (qos === 2) session?.incomingQos2.add(messageId);
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
    connection.acknowledge(packet, v5 ? refusal : ReasonCode.Success);
    return;
  }

  const message = createMessage({ topic, payload, qos, retain: packet.retain, ...(props !== undefined ? { properties: props } : {}) }, connection.clientId, core.options.maxMessageExpirySeconds);
  // Cluster mode: the taken QoS 2 packet id is stored before PUBREC (another frontend then knows it) [MQTT-4.3.3-10].
  const marked = qos === 2 ? connection.session?.storeIncomingQos2(packet.messageId as number) : undefined;
  const { matched, refused, congested, completion, undeliverable } = core.publish(message);
  if (congested !== undefined) for (const target of congested) core.throttle.consider(connection, target);
  if (qos === 0) return;
  let reason: number = ReasonCode.Success;
  if (undeliverable) {
    // The message cannot be encoded for any subscriber (counted and logged by the router): refused,
    // 0x83 on v5; 3.1.1 has no negative acknowledgement, so the connection closes.
    if (!v5) {
      closeUnacknowledged(connection, packet, ReasonCode.ImplementationSpecificError, 'the message cannot be encoded');
      return;
    }
    connection.acknowledge(packet, ReasonCode.ImplementationSpecificError);
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
      closeUnacknowledged(connection, packet, ReasonCode.QuotaExceeded, 'a subscriber could not take the message');
      return;
    }
    reason = ReasonCode.QuotaExceeded;
  }
  // [MQTT-4.3.2-2] acknowledge only once the message is stored where policy says; [MQTT-4.6.0-2] in arrival order
  connection.acknowledge(packet, reason, marked === undefined ? completion : both(completion, marked));
}

/** One completion of two. */
function both(a: Completion, b: Completion): Completion {
  const set = new CompletionSet();
  set.add(a);
  set.add(b);
  return set.done();
}

/**
 * 3.1.1 has no negative acknowledgement: the connection closes (the reason goes to the log), and a
 * QoS 2 id is free again for the client's retransmission.
 */
function closeUnacknowledged(connection: Connection, packet: PublishPacket, reasonCode: number, reason: string): void {
  if (packet.qos === 2) watchCompletion(connection.session?.releaseIncomingQos2(packet.messageId as number), () => undefined); // best effort: the connection closes
  connection.disconnect(reasonCode, reason);
}

function authorized(connection: Connection, topic: string): boolean {
  const check = connection.hooks.authorizePublish;
  if (check === undefined) return true;
  return check(connection.identity, topic);
}
