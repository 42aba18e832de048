import type { QueueEntryRecord } from '../storage/broker-store.js';
import type { Counters } from './counters.js';
import { queuedCost, type QueuedDelivery } from './delivery.js';
import type { SpillTail } from './spill-tail.js';

/**
 * Told of every message the bound drops: `delivery` (none for a new message refused before it was
 * queued) is to be forgotten; `oldest` and `new` drops count against the session, a `cancelled`
 * one (its store write failed) was counted then.
 */
export interface DropSink<D extends QueuedDelivery> {
  dropped(delivery: D | undefined, which: 'oldest' | 'new' | 'cancelled'): void;
}

/**
 * The messages waiting for one session, oldest first: a memory part, then (a queue that is not
 * persisted, past the memory budget) a tail on the disk-backed buffer. It keeps their cost
 * (payload + overhead each) for the broker's `queued` and `queuedBytes` counters, and keeps the
 * session's bound: bytes (`maxSessionQueueBytes`) and, with DropOldest, messages (the AIO
 * `subscriberQueueLimit.length`; None never drops by count, as AIO).
 */
export class SessionQueue<D extends QueuedDelivery> {
  readonly #counters: Counters;
  #items: D[] = [];
  #head = 0;
  /** What the memory part costs. */
  #bytes = 0;
  /** Newest waiting messages on the disk-backed buffer. */
  #tail: SpillTail | undefined;

  constructor(counters: Counters) {
    this.#counters = counters;
  }

  /** Messages waiting, in memory and on the disk buffer. */
  get length(): number {
    return this.#items.length - this.#head + (this.#tail?.count ?? 0);
  }

  /** What the waiting messages cost, in memory and on the disk buffer. */
  get bytes(): number {
    return this.#bytes + (this.#tail?.bytes ?? 0);
  }

  /** Messages waiting in memory (sendable now). */
  get inMemory(): number {
    return this.#items.length - this.#head;
  }

  /** Messages on the disk buffer. */
  get spilled(): number {
    return this.#tail?.count ?? 0;
  }

  /** The disk-buffer tail, once {@link startTail} made it. */
  get tail(): SpillTail | undefined {
    return this.#tail;
  }

  /** Sets the disk-buffer tail (first spill of the session); returns it. */
  startTail(tail: SpillTail): SpillTail {
    this.#tail = tail;
    return tail;
  }

  /** Reads the next batch of the disk-buffer tail into `onLoaded` once the memory part is empty. */
  loadTail(onLoaded: (entries: QueueEntryRecord[]) => void): void {
    if (this.#head >= this.#items.length && this.#tail !== undefined && this.#tail.count > 0) this.#tail.load(onLoaded);
  }

  /** Adds a newly queued delivery at the end. */
  add(delivery: D): void {
    this.#items.push(delivery);
    this.#counters.queued++;
    this.#count(delivery);
  }

  /** Adds a delivery read back from the disk buffer (counted in `queued` since it spilled). */
  addReadBack(delivery: D): void {
    this.#items.push(delivery);
    this.#count(delivery);
  }

  /** Takes the oldest delivery in memory (the caller checked {@link inMemory}). */
  shift(): D {
    const delivery = this.#items[this.#head] as D;
    this.#items[this.#head] = undefined as unknown as D;
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    this.#uncount(delivery);
    return delivery;
  }

  /** Takes the newest delivery in memory (the caller checked {@link inMemory}). */
  pop(): D {
    const newest = this.#items.pop() as D;
    this.#uncount(newest);
    return newest;
  }

  /** Takes the waiting deliveries in memory that `take` selects, oldest first; the others keep their order. */
  removeWhere(take: (delivery: D) => boolean): D[] {
    const kept: D[] = [];
    const removed: D[] = [];
    for (let i = this.#head; i < this.#items.length; i++) {
      const delivery = this.#items[i] as D;
      (take(delivery) ? removed : kept).push(delivery);
    }
    if (removed.length === 0) return removed;
    this.#items = kept;
    this.#head = 0;
    for (const delivery of removed) this.#uncount(delivery);
    return removed;
  }

  /** Drops every waiting delivery, the disk-buffer tail too (the session ends). */
  clear(): void {
    for (let i = this.#head; i < this.#items.length; i++) this.#uncount(this.#items[i] as D);
    this.#items = [];
    this.#head = 0;
    this.#tail?.drop();
  }

  /**
   * The bound, before a message of `cost` joins the queue. DropOldest drops waiting messages from
   * the head until the new one fits; None (or nothing left to drop in memory) drops the new one,
   * for this session only. One message always fits an empty queue. False when the new message was dropped.
   */
  makeRoom(cost: number, maxBytes: number, maxMessages: number, dropOldest: boolean, sink: DropSink<D>): boolean {
    if (dropOldest) while (this.#full(cost, maxBytes, maxMessages) && this.#head < this.#items.length) this.#dropOldest(sink);
    if (!this.#full(cost, maxBytes, maxMessages)) return true;
    sink.dropped(undefined, 'new');
    return false;
  }

  /**
   * Brings a restored queue over the bound (the bound was lowered, or the queue was written by an
   * older version) under it as its strategy says: DropOldest from the head, None from the tail
   * (the messages the bound would have dropped on arrival).
   */
  trim(maxBytes: number, maxMessages: number, dropOldest: boolean, sink: DropSink<D>): void {
    while (this.inMemory > 1 && (this.#bytes > maxBytes || this.inMemory > maxMessages)) {
      if (dropOldest) this.#dropOldest(sink);
      else sink.dropped(this.pop(), 'new');
    }
  }

  /** Whether a message of `cost` does not fit: never for an empty queue. */
  #full(cost: number, maxBytes: number, maxMessages: number): boolean {
    const length = this.length;
    return length > 0 && (this.bytes + cost > maxBytes || length >= maxMessages);
  }

  #dropOldest(sink: DropSink<D>): void {
    const oldest = this.shift();
    sink.dropped(oldest, oldest.cancelled === true ? 'cancelled' : 'oldest'); // a cancelled one was counted when its write failed
  }

  /** Adds a waiting delivery's cost to the session's and the broker's queued bytes. */
  #count(delivery: D): void {
    const cost = queuedCost(delivery);
    this.#bytes += cost;
    this.#counters.queuedBytes += cost;
  }

  #uncount(delivery: D): void {
    const cost = queuedCost(delivery);
    this.#bytes -= cost;
    this.#counters.queued--;
    this.#counters.queuedBytes -= cost;
  }
}
