import type { AckKind } from '../protocol/encoder.js';
import type { PublishPacket } from '../protocol/packets.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import { OpsError } from '../shared/errors.js';
import { watchCompletion } from './completion.js';
import type { FaultArea } from './fault-boundary.js';
import type { Session } from './session.js';

/** What the queue needs of its connection. */
export interface AckChannel {
  readonly version: 4 | 5;
  readonly session: Session | undefined;
  readonly core: { onStoreError(error: unknown): void };
  sendAck(kind: AckKind, packetId: number, reasonCode: number): void;
  disconnect(reasonCode: number, reasonString?: string): void;
  contain(area: FaultArea, work: () => void): boolean;
}

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

function ackReasonOf(ack: number): number {
  return Math.floor(ack / 0x40000);
}

/**
 * A connection's one ordered acknowledgement queue [MQTT-4.6.0-2]: PUBACKs and PUBRECs leave in
 * the order their PUBLISHes arrived, whether they waited for the store or not. The connection
 * creates it when an ack first has to wait; while nothing waits, an ack that needs no store write
 * is sent at once ({@link sendPublishAck}), with no allocation.
 */
export class OrderedAcks {
  readonly #channel: AckChannel;
  #head: AckRun | undefined;
  #tail: AckRun | undefined;
  /** Inbound QoS 1 PUBLISHes whose PUBACK waits here [MQTT-3.3.4-7]. */
  #pendingQos1 = 0;

  constructor(channel: AckChannel) {
    this.#channel = channel;
  }

  /** Inbound QoS 1 PUBLISHes whose PUBACK waits in the queue (they count against our Receive Maximum). */
  get pendingQos1(): number {
    return this.#pendingQos1;
  }

  /**
   * Acknowledges `packet` (PUBACK, or PUBREC for QoS 2) with `reasonCode` now, or, when an earlier
   * ack is still waiting for its store write, right after it.
   */
  inOrder(packet: PublishPacket, reasonCode: number): void {
    const tail = this.#tail;
    if (tail === undefined) {
      sendPublishAck(this.#channel, packet.qos, packet.messageId as number, reasonCode);
      return;
    }
    if (tail.completion === undefined) tail.acks.push(pack(packet, reasonCode));
    else this.#append({ completion: undefined, settled: true, error: undefined, acks: [pack(packet, reasonCode)], next: undefined });
    if (packet.qos === 1) this.#pendingQos1++; // counts until its PUBACK leaves [MQTT-3.3.4-7]
  }

  /**
   * Acknowledges `packet` with `reasonCode` once `completion` (its store write) settles
   * [MQTT-4.3.2-2], and after every earlier ack. PUBLISHes of one store batch join one run: one
   * handler per batch, not one per message.
   */
  whenStored(completion: Promise<void>, packet: PublishPacket, reasonCode: number): void {
    if (packet.qos === 1) this.#pendingQos1++;
    const tail = this.#tail;
    if (tail !== undefined && tail.completion === completion) {
      tail.acks.push(pack(packet, reasonCode));
      return;
    }
    const run: AckRun = { completion, settled: false, error: undefined, acks: [pack(packet, reasonCode)], next: undefined };
    this.#append(run);
    const channel = this.#channel;
    // A promise continuation: outside the packet boundary, so it runs in the connection's own.
    completion.then(
      () => channel.contain('stored-ack', () => this.#settle(run, undefined)),
      (error: unknown) => channel.contain('stored-ack', () => this.#settle(run, error ?? new Error('store write failed'))),
    );
  }

  #append(run: AckRun): void {
    if (this.#tail === undefined) this.#head = run;
    else this.#tail.next = run;
    this.#tail = run;
  }

  /** Marks `run` settled, then sends every settled run at the head of the queue, in order. */
  #settle(run: AckRun, error: unknown): void {
    run.settled = true;
    run.error = error;
    let head = this.#head;
    while (head !== undefined && head.settled) {
      this.#head = head.next;
      if (this.#head === undefined) this.#tail = undefined;
      this.#send(head);
      head = this.#head;
    }
  }

  /** Sends the acks of a settled run: success, or the store's error (0x97 when full; 3.1.1 closes). */
  #send(run: AckRun): void {
    const channel = this.#channel;
    const { acks, error } = run;
    for (const ack of acks) if (qosOf(ack) === 1) this.#pendingQos1--;
    if (error === undefined) {
      for (const ack of acks) sendPublishAck(channel, qosOf(ack), packetIdOf(ack), ackReasonOf(ack));
      return;
    }
    // The store is full (persistence maxSize): 0x97; 3.1.1 has no negative ack, so the connection closes.
    const full = error instanceof OpsError && error.code === 'STO_QUOTA_EXCEEDED';
    channel.core.onStoreError(error); // once per failed batch, not once per message
    if (channel.version !== 5) {
      // unacknowledged: a QoS 2 id is free again for the client's retransmission
      for (const ack of acks) if (qosOf(ack) === 2) watchCompletion(channel.session?.releaseIncomingQos2(packetIdOf(ack)), () => undefined); // best effort: the connection closes
      channel.disconnect(full ? ReasonCode.QuotaExceeded : ReasonCode.UnspecifiedError, 'the store write failed'); // 3.1.1: closes, the reason goes to the log
      return;
    }
    for (const ack of acks) sendPublishAck(channel, qosOf(ack), packetIdOf(ack), full ? ReasonCode.QuotaExceeded : ReasonCode.UnspecifiedError);
  }
}

/**
 * PUBACK (QoS 1) or PUBREC (QoS 2). A QoS 2 packet id was taken when its PUBLISH arrived and stays
 * until PUBREL, except after a refusing PUBREC (reason >= 0x80), which ends the exchange [MQTT-4.3.3-8].
 */
export function sendPublishAck(channel: AckChannel, qos: number, messageId: number, reasonCode: number): void {
  if (qos === 1) {
    channel.sendAck('puback', messageId, reasonCode);
    return;
  }
  if (reasonCode >= ReasonCode.UnspecifiedError) watchCompletion(channel.session?.releaseIncomingQos2(messageId), (e) => channel.core.onStoreError(e));
  channel.sendAck('pubrec', messageId, reasonCode);
}
