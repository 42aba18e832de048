/**
 * A bounded cache of recent responses keyed by (client id, correlation data), so a redelivered
 * request is answered again without being executed twice (docs/reference/state-store-protocol.md §1.2).
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

/**
 * Two generations of at most half the capacity each: new responses go into the young one; when it
 * is full it becomes the old one and the previous old one is dropped whole. O(1) per operation
 * (evicting the oldest Map entry one by one is not: V8 skips the deleted entries on every
 * `keys().next()`), and at least the last `capacity / 2` responses are always remembered.
 */
export class DedupCache {
  #young = new Map<string, Slot>();
  #old = new Map<string, Slot>();
  readonly #generationSize: number;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(capacity: number, ttlMs: number, now: () => number = Date.now) {
    const cap = Math.max(0, Math.floor(capacity));
    this.#generationSize = cap === 0 ? 0 : Math.max(1, Math.ceil(cap / 2));
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /** The cache key of a request: the client id's length, the client id, the correlation data bytes as latin1 (unambiguous). */
  static keyOf(clientId: string, correlationData: Buffer): string {
    return `${clientId.length}:${clientId}${correlationData.toString('latin1')}`;
  }

  /** A live cached response, if any. */
  get(key: string): CachedResponse | undefined {
    const slot = this.#young.get(key) ?? this.#old.get(key);
    if (slot === undefined) return undefined;
    if (slot.expiresAt <= this.#now()) {
      this.#young.delete(key);
      this.#old.delete(key);
      return undefined;
    }
    return slot.response;
  }

  /** Remembers a response (`ttlMs` overrides the default time-to-live). */
  set(key: string, response: CachedResponse, ttlMs: number = this.#ttlMs): void {
    if (this.#generationSize === 0) return;
    this.#old.delete(key);
    if (!this.#young.has(key) && this.#young.size >= this.#generationSize) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(key, { response, expiresAt: this.#now() + ttlMs });
  }

  /** Number of cached responses (expired ones not yet dropped included). */
  get size(): number {
    return this.#young.size + this.#old.size;
  }

  /** Drops everything. */
  clear(): void {
    this.#young.clear();
    this.#old.clear();
  }
}
