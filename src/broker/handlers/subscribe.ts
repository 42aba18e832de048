import type { SubscribePacket, UnsubscribePacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import { moreFilters } from '../../protocol/subscribe-filters.js';
import type { Connection } from '../connection.js';
import { logUnsubscribed } from '../connection-log.js';
import { SUBSCRIBE_SLICE_MS, SubscribeJob } from './subscribe-job.js';

/**
 * SUBSCRIBE: validate, authorize, add or replace, SUBACK, then retained messages [MQTT-3.8.4-1].
 * The work runs in slices of {@link SUBSCRIBE_SLICE_MS} (see subscribe-job.ts); when it needs more
 * than one, the connection's later packets wait for it, in order.
 */
export function handleSubscribe(connection: Connection, packet: SubscribePacket): void {
  const session = connection.session;
  if (session === undefined) return;
  if (packet.subscriptions.length === 0) {
    connection.disconnect(ReasonCode.ProtocolError, 'SUBSCRIBE without a topic filter'); // [MQTT-3.8.3-2]
    return;
  }
  // one Subscription Identifier of 1..268435455 at most: validated when the SUBSCRIBE was decoded (validate-properties.ts)
  const job = new SubscribeJob(connection, session, packet, moreFilters(packet));
  if (job.step(performance.now() + SUBSCRIBE_SLICE_MS)) return;
  connection.hold();
  scheduleJob(connection, job);
}

/** The job's next slice: when what it waits for is done, else on the event loop's next turn. */
function scheduleJob(connection: Connection, job: SubscribeJob): void {
  const waiting = job.takeWaiting();
  if (waiting === undefined) setImmediate(continueJob, connection, job);
  else void waiting.then(() => continueJob(connection, job));
}

/** Next slice of a SUBSCRIBE, in the connection's error boundary: an error ends this client's connection, nothing else. */
function continueJob(connection: Connection, job: SubscribeJob): void {
  let finished = true;
  connection.contain('subscribe', () => {
    finished = job.step(performance.now() + SUBSCRIBE_SLICE_MS);
  });
  if (finished) connection.replayHeld();
  else scheduleJob(connection, job);
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
  logUnsubscribed(connection, packet.unsubscriptions, granted);
}
