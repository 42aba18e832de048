import type { PublishPacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import { OpsError } from '../../shared/errors.js';
import type { Connection } from '../connection.js';

/**
 * One run of a connection's acknowledgements that leave together: the PUBLISHes whose store writes
 * share one completion (one group-commit batch, one handler per batch), or acks that needed no
 * store write but arrived behind a waiting run (`completion` undefined: ready at once).
 */
interface AckRun {
  readonly completion: Promise<void> | undefined;
  settled: boolean;
  error: unknown;
  /** The acks, packed by {@link pack} (numbers: a waiting ack keeps no PUBLISH, nor its payload, alive). */
  readonly acks: number[];
  next: AckRun | undefined;
}

/** One ack as a number: reason code (8 bits), QoS (2 bits), packet id (16 bits). */
function pack(packet: PublishPacket, reasonCode: number): number {
  return reasonCode * 0x40000 + packet.qos * 0x10000 + (packet.messageId as number);
}

function qosOf(ack: number): number {
  return Math.floor(ack / 0x10000) % 4;
}

function packetIdOf(ack: number): number {
  return ack % 0x10000;
}

function reasonOf(ack: number): number {
  return Math.floor(ack / 0x40000);
}

/**
 * The connection's one ordered acknowledgement queue [MQTT-4.6.0-2]: PUBACKs and PUBRECs leave in
 * the order their PUBLISHes arrived, whether they waited for the store or not. Empty (no run) on
 * the hot path: an ack that needs no store write is then sent at once, with no allocation.
 */
export class OrderedAcks {
  head: AckRun | undefined;
  tail: AckRun | undefined;
}

/**
 * Acknowledges `packet` (PUBACK, or PUBREC for QoS 2) with `reasonCode` now, or, when an earlier
 * ack of this connection is still waiting for its store write, right after it.
 */
export function acknowledgeInOrder(connection: Connection, packet: PublishPacket, reasonCode: number): void {
  const queue = connection.orderedAcks;
  if (queue === undefined || queue.tail === undefined) {
    acknowledge(connection, packet.qos, packet.messageId as number, reasonCode);
    return;
  }
  const tail = queue.tail;
  if (tail.completion === undefined) tail.acks.push(pack(packet, reasonCode));
  else append(queue, { completion: undefined, settled: true, error: undefined, acks: [pack(packet, reasonCode)], next: undefined });
  if (packet.qos === 1) connection.inboundPending++; // counts until its PUBACK leaves [MQTT-3.3.4-7]
}

/**
 * Acknowledges `packet` with `reasonCode` once `completion` (its store write) settles
 * [MQTT-4.3.2-2], and after every earlier ack of this connection. PUBLISHes of one store batch
 * join one run: one handler per batch, not one per message.
 */
export function acknowledgeWhenStored(connection: Connection, completion: Promise<void>, packet: PublishPacket, reasonCode: number): void {
  const queue = (connection.orderedAcks ??= new OrderedAcks());
  if (packet.qos === 1) connection.inboundPending++;
  const tail = queue.tail;
  if (tail !== undefined && tail.completion === completion) {
    tail.acks.push(pack(packet, reasonCode));
    return;
  }
  const run: AckRun = { completion, settled: false, error: undefined, acks: [pack(packet, reasonCode)], next: undefined };
  append(queue, run);
  // A promise continuation: outside the packet boundary, so it runs in the connection's own.
  completion.then(
    () => connection.contain('stored-ack', () => settle(connection, queue, run, undefined)),
    (error: unknown) => connection.contain('stored-ack', () => settle(connection, queue, run, error ?? new Error('store write failed'))),
  );
}

function append(queue: OrderedAcks, run: AckRun): void {
  if (queue.tail === undefined) queue.head = run;
  else queue.tail.next = run;
  queue.tail = run;
}

/** Marks `run` settled, then sends every settled run at the head of the queue, in order. */
function settle(connection: Connection, queue: OrderedAcks, run: AckRun, error: unknown): void {
  run.settled = true;
  run.error = error;
  let head = queue.head;
  while (head !== undefined && head.settled) {
    queue.head = head.next;
    if (queue.head === undefined) queue.tail = undefined;
    send(connection, head);
    head = queue.head;
  }
}

/** Sends the acks of a settled run: success, or the store's error (0x97 when full; 3.1.1 closes). */
function send(connection: Connection, run: AckRun): void {
  const { acks, error } = run;
  for (const ack of acks) if (qosOf(ack) === 1) connection.inboundPending--;
  if (error === undefined) {
    for (const ack of acks) acknowledge(connection, qosOf(ack), packetIdOf(ack), reasonOf(ack));
    return;
  }
  const core = connection.core;
  // The store is full (persistence maxSize): 0x97; 3.1.1 has no negative ack, so the connection closes.
  const full = error instanceof OpsError && error.code === 'STO_QUOTA_EXCEEDED';
  core.onStoreError(error); // once per failed batch, not once per message
  if (connection.version !== 5) {
    // unacknowledged: a QoS 2 id is free again for the client's retransmission
    for (const ack of acks) if (qosOf(ack) === 2) connection.session?.incomingQos2.delete(packetIdOf(ack));
    connection.disconnect(full ? ReasonCode.QuotaExceeded : ReasonCode.UnspecifiedError, 'the store write failed'); // 3.1.1: closes, the reason goes to the log
    return;
  }
  for (const ack of acks) acknowledge(connection, qosOf(ack), packetIdOf(ack), full ? ReasonCode.QuotaExceeded : ReasonCode.UnspecifiedError);
}

/**
 * PUBACK (QoS 1) or PUBREC (QoS 2). A QoS 2 packet id was taken when its PUBLISH arrived and stays
 * until PUBREL, except after a refusing PUBREC (reason >= 0x80), which ends the exchange [MQTT-4.3.3-8].
 */
function acknowledge(connection: Connection, qos: number, messageId: number, reasonCode: number): void {
  if (qos === 1) {
    connection.sendAck('puback', messageId, reasonCode);
    return;
  }
  if (reasonCode >= ReasonCode.UnspecifiedError) connection.session?.incomingQos2.delete(messageId);
  connection.sendAck('pubrec', messageId, reasonCode);
}
