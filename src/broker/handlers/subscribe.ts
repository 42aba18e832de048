import type { SubscribePacket, UnsubscribePacket } from '../../protocol/packets.js';
import { ReasonCode, SubackFailure311 } from '../../protocol/reason-codes.js';
import { checkTopicFilter, parseSharedFilter } from '../../shared/topic.js';
import { watchCompletion } from '../completion.js';
import type { Connection } from '../connection.js';
import type { Subscription } from '../topic-tree.js';

/** SUBSCRIBE: validate, authorize, add or replace, SUBACK, then retained messages [MQTT-3.8.4-1]. */
export function handleSubscribe(connection: Connection, packet: SubscribePacket): void {
  const session = connection.session;
  if (session === undefined) return;
  const core = connection.core;
  if (packet.subscriptions.length === 0) {
    connection.disconnect(ReasonCode.ProtocolError, 'SUBSCRIBE without a topic filter'); // [MQTT-3.8.3-2]
    return;
  }
  const v5 = connection.version === 5;
  // one Subscription Identifier of 1..268435455 at most: validated when the SUBSCRIBE was decoded (validate-properties.ts)
  const subscriptionId = packet.properties?.subscriptionIdentifier;
  const granted: number[] = [];
  const replay: { sub: Subscription; isNew: boolean }[] = [];
  for (const request of packet.subscriptions) {
    const shared = parseSharedFilter(request.topic);
    const problem = shared === undefined ? checkTopicFilter(request.topic) : typeof shared === 'string' ? shared : undefined;
    if (problem !== undefined) {
      granted.push(v5 ? ReasonCode.TopicFilterInvalid : SubackFailure311); // [MQTT-3.8.4-?] invalid filter
      continue;
    }
    if (typeof shared === 'object' && v5 && request.nl === true) {
      connection.disconnect(ReasonCode.ProtocolError, 'No Local on a shared subscription'); // [MQTT-3.8.3-4]
      return;
    }
    const authorize = connection.hooks.authorizeSubscribe;
    if (authorize !== undefined && !authorize(connection.identity, request.topic)) {
      granted.push(v5 ? ReasonCode.NotAuthorized : SubackFailure311);
      continue;
    }
    const sub: Subscription = {
      session,
      filter: request.topic,
      topicFilter: typeof shared === 'object' ? shared.filter : request.topic,
      qos: request.qos,
      noLocal: v5 && request.nl === true,
      retainAsPublished: v5 && request.rap === true,
      retainHandling: v5 ? ((request.rh ?? 0) as 0 | 1 | 2) : 0,
      subscriptionId: v5 ? subscriptionId : undefined,
      group: typeof shared === 'object' ? shared.group : undefined,
    };
    const isNew = core.registry.subscribe(session, sub);
    granted.push(request.qos); // [MQTT-3.9.3-1] granted QoS in request order
    if (sub.group === undefined) replay.push({ sub, isNew }); // no retained messages for shared subscriptions [MQTT-3.8.4-?]
  }
  core.registry.save(session);
  connection.send({ cmd: 'suback', messageId: packet.messageId as number, granted });
  const now = Date.now();
  for (const { sub, isNew } of replay) {
    // Retain Handling: 0 always, 1 only for a new subscription, 2 never [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11]
    if (sub.retainHandling === 2 || (sub.retainHandling === 1 && !isNew)) continue;
    const ids = sub.subscriptionId === undefined ? undefined : [sub.subscriptionId];
    for (const message of core.retained.match(sub.topicFilter, now)) {
      const qos = Math.min(message.qos, sub.qos) as 0 | 1 | 2;
      // [MQTT-3.3.1-8] retained messages sent on subscribe carry RETAIN 1
      if (qos === 0) connection.sendQos0(message, true, ids);
      else watchCompletion(session.enqueue(message, qos, true, ids), (e) => core.onStoreError(e));
    }
  }
}

/** UNSUBSCRIBE: remove each filter; UNSUBACK with a reason per filter (v5) [MQTT-3.10.4-4]. */
export function handleUnsubscribe(connection: Connection, packet: UnsubscribePacket): void {
  const session = connection.session;
  if (session === undefined) return;
  if (packet.unsubscriptions.length === 0) {
    connection.disconnect(ReasonCode.ProtocolError, 'UNSUBSCRIBE without a topic filter'); // [MQTT-3.10.3-2]
    return;
  }
  const core = connection.core;
  const granted: number[] = [];
  for (const filter of packet.unsubscriptions) {
    const removed = core.registry.unsubscribe(session, filter);
    granted.push(removed ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted);
  }
  core.registry.save(session);
  connection.send({
    cmd: 'unsuback',
    messageId: packet.messageId as number,
    ...(connection.version === 5 ? { granted } : { granted: [] }),
  });
}
