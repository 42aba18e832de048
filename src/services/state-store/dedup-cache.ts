/**
 * A bounded cache of recent responses keyed by (client id, correlation data), so a redelivered
 * request is answered again without being executed twice (docs/state-store-protocol.md §1.2).
 */

/** A cached response: payload and user properties. */
export interface CachedResponse {
  readonly payload: Buffer;
  readonly userProperties: readonly (readonly [string, string])[];
}

interface Slot {
  readonly response: CachedResponse;
  readonly expiresAt: number;
}

/** Least-recently-inserted eviction with a time-to-live. */
export class DedupCache {
  readonly #slots = new Map<string, Slot>();
  readonly #capacity: number;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(capacity: number, ttlMs: number, now: () => number = Date.now) {
    this.#capacity = Math.max(0, Math.floor(capacity));
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /** The cache key of a request. */
  static keyOf(clientId: string, correlationData: Buffer): string {
    return `${clientId}\u0000${correlationData.toString('base64')}`;
  }

  /** A live cached response, if any. */
  get(key: string): CachedResponse | undefined {
    const slot = this.#slots.get(key);
    if (slot === undefined) return undefined;
    if (slot.expiresAt <= this.#now()) {
      this.#slots.delete(key);
      return undefined;
    }
    return slot.response;
  }

  /** Remembers a response (`ttlMs` overrides the default time-to-live). */
  set(key: string, response: CachedResponse, ttlMs: number = this.#ttlMs): void {
    if (this.#capacity === 0) return;
    this.#slots.delete(key);
    this.#slots.set(key, { response, expiresAt: this.#now() + ttlMs });
    while (this.#slots.size > this.#capacity) {
      const oldest = this.#slots.keys().next();
      if (oldest.done === true) break;
      this.#slots.delete(oldest.value);
    }
  }

  /** Number of cached responses. */
  get size(): number {
    return this.#slots.size;
  }

  /** Drops everything. */
  clear(): void {
    this.#slots.clear();
  }
}
