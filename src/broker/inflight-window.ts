import type { Counters } from './counters.js';
import type { QueuedDelivery } from './delivery.js';

/**
 * A session's QoS 1/2 deliveries sent and not yet acknowledged, by packet id in send order, and
 * the packet ids they take; counted in the broker's `inflight`.
 */
export class InflightWindow<D extends QueuedDelivery> {
  readonly #counters: Counters;
  /** Created on first use: an idle connection's session stays small. */
  #byId: Map<number, D> | undefined;
  #nextPacketId = 1;

  constructor(counters: Counters) {
    this.#counters = counters;
  }

  /** Deliveries in flight. */
  get size(): number {
    return this.#byId?.size ?? 0;
  }

  get(packetId: number): D | undefined {
    return this.#byId?.get(packetId);
  }

  /** The deliveries in flight, by packet id in send order. */
  entries(): IterableIterator<[number, D]> | [] {
    return this.#byId?.entries() ?? [];
  }

  /** A packet id no unfinished exchange uses [MQTT-2.2.1-3]. */
  allocatePacketId(): number {
    for (;;) {
      const id = this.#nextPacketId;
      this.#nextPacketId = id === 65_535 ? 1 : id + 1;
      if (this.#byId?.has(id) !== true) return id;
    }
  }

  /** `delivery` is in flight under its packet id. */
  add(delivery: D): void {
    (this.#byId ??= new Map()).set(delivery.packetId, delivery);
    this.#counters.inflight++;
  }

  /** Takes the delivery of `packetId` out of flight; undefined for an unknown id. */
  remove(packetId: number): D | undefined {
    const delivery = this.#byId?.get(packetId);
    if (delivery === undefined) return undefined;
    this.#byId?.delete(packetId);
    this.#counters.inflight--;
    return delivery;
  }

  /** Forgets every delivery in flight (the session ends). */
  clear(): void {
    this.#counters.inflight -= this.size;
    this.#byId = undefined;
  }
}
