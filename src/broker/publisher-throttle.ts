import type { Session } from './session.js';

/** A connection whose reading can be paused. */
export interface Throttleable {
  /** The connection's own session (never throttled on itself). */
  readonly session: Session | undefined;
  pauseReading(): void;
  resumeReading(): void;
}

/** Waiting messages of a consuming subscriber above which its publishers are paused (or half its queue's byte bound). */
export const CONGESTION_HIGH_WATER = 300;
/** Waiting messages at which paused publishers are resumed (and at most a quarter of its byte bound). */
export const CONGESTION_LOW_WATER = 100;
/** A subscriber that makes no progress for this long no longer holds publishers back. */
export const STALL_MS = 2000;

interface Hold {
  readonly publishers: Set<Throttleable>;
  lastProgress: number;
}

/**
 * End-to-end flow control for QoS 1/2: when a connected, consuming subscriber's queue grows
 * past the high-water mark, the publishers feeding it stop being read (TCP pushes back on
 * them) until the queue drains. Without it a fast publisher outruns a subscriber's Receive
 * Maximum window and the queue (and latency) grow without bound.
 *
 * Safety rules: a publisher is never paused while its own session has messages waiting or in
 * flight (it must keep reading its own acknowledgements: no cycles), and a subscriber that makes
 * no progress for {@link STALL_MS}, or whose socket backs up, releases its publishers and holds
 * no one again until it progresses (one stalled reader never blocks everyone).
 */
export class PublisherThrottle {
  readonly #holds = new Map<Session, Hold>();
  readonly #stalled = new WeakSet<Session>();

  /** Publishers paused now. */
  get pausedCount(): number {
    const all = new Set<Throttleable>();
    for (const hold of this.#holds.values()) for (const publisher of hold.publishers) all.add(publisher);
    return all.size;
  }

  /**
   * Pauses `publisher` if `target` is congested and pausing is safe. A target whose socket is
   * backed up holds no one (as in {@link progress}): it is not reading, and its own queue bound,
   * not its publishers, limits what it keeps.
   */
  consider(publisher: Throttleable, target: Session): void {
    if (this.#stalled.has(target) || target.channel?.writable === false) return;
    const own = publisher.session;
    if (own === target || (own !== undefined && (own.queueLength > 0 || own.inflightCount > 0))) return;
    let hold = this.#holds.get(target);
    if (hold === undefined) {
      hold = { publishers: new Set(), lastProgress: Date.now() };
      this.#holds.set(target, hold);
      target.throttling = true;
    }
    if (hold.publishers.has(publisher)) return;
    hold.publishers.add(publisher);
    publisher.pauseReading();
  }

  /** The session sent or completed a delivery; resumes its publishers once drained. */
  progress(session: Session, writable: boolean): void {
    const hold = this.#holds.get(session);
    if (hold === undefined) return;
    this.#stalled.delete(session);
    hold.lastProgress = Date.now();
    if (session.drained || !writable || !session.connected) this.resumePublishers(session);
  }

  /** Resumes every publisher held by the session. */
  resumePublishers(session: Session): void {
    const hold = this.#holds.get(session);
    if (hold === undefined) return;
    this.#holds.delete(session);
    session.throttling = false;
    for (const publisher of hold.publishers) publisher.resumeReading();
  }

  /** Called by the broker's sweep: releases holds of subscribers that stopped making progress. */
  sweep(now: number): void {
    for (const [session, hold] of this.#holds) {
      if (now - hold.lastProgress < STALL_MS) continue;
      this.#stalled.add(session);
      this.resumePublishers(session);
    }
  }

  /** Forgets a publisher that closed. */
  forget(publisher: Throttleable): void {
    for (const [session, hold] of this.#holds) {
      hold.publishers.delete(publisher);
      if (hold.publishers.size === 0) {
        this.#holds.delete(session);
        session.throttling = false;
      }
    }
  }
}
