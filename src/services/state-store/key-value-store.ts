/**
 * The keys of the state store: value, version, fencing token and expiry per key, with PX expiry
 * fired by one timer on the next deadline (docs/reference/state-store-protocol.md §3.3, §4.5).
 */
import { ExpiryHeap } from './expiry-heap.js';
import type { Hlc } from '../../shared/hlc-text.js';
import type { HybridClock } from './server-clock.js';

/** One live key. */
export interface StoredEntry {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly version: Hlc;
  readonly fencingToken: Hlc | undefined;
  /** Expiry instant (ms since the epoch); undefined: never. */
  readonly expiresAt: number | undefined;
  readonly generation: number;
}

/** A change observers are told about. */
export type ChangeEvent =
  | { readonly kind: 'set'; readonly keyId: string; readonly key: Buffer; readonly value: Buffer; readonly version: Hlc }
  | { readonly kind: 'delete'; readonly keyId: string; readonly key: Buffer; readonly version: Hlc };

/** Collaborators of a {@link KeyStore}. */
export interface KeyStoreOptions {
  readonly clock: HybridClock;
  readonly now: () => number;
  /** Called (synchronously) for each key that expires, with its deletion version. */
  readonly onExpired: (event: ChangeEvent) => void;
}

/** Largest delay Node timers accept. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The map id of a key: its bytes as latin1 (a bijection of bytes and strings). */
export function keyIdOf(key: Uint8Array): string {
  const bytes = Buffer.isBuffer(key) ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  return bytes.toString('latin1');
}

/** In-memory key store with timer-driven expiry. */
export class KeyStore {
  readonly #entries = new Map<string, StoredEntry>();
  readonly #heap = new ExpiryHeap();
  readonly #options: KeyStoreOptions;
  #generation = 0;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #closed = false;

  constructor(options: KeyStoreOptions) {
    this.#options = options;
  }

  /** Number of live keys. */
  get size(): number {
    return this.#entries.size;
  }

  /** The live entry of a key (an expired one is removed first, with its DELETE event). */
  get(keyId: string): StoredEntry | undefined {
    const entry = this.#entries.get(keyId);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= this.#options.now()) {
      this.#expire(entry);
      return undefined;
    }
    return entry;
  }

  /** Stores a key (replacing any previous entry and its expiry). */
  put(key: Buffer, value: Buffer, version: Hlc, fencingToken: Hlc | undefined, expiresAt: number | undefined): StoredEntry {
    const keyId = keyIdOf(key);
    const entry: StoredEntry = { key: Buffer.from(key), value: Buffer.from(value), version, fencingToken, expiresAt, generation: ++this.#generation };
    this.#entries.set(keyId, entry);
    if (expiresAt !== undefined) {
      this.#heap.push({ at: expiresAt, id: keyId, generation: entry.generation });
      if (expiresAt < this.#timerAt) this.#schedule();
    }
    return entry;
  }

  /** Removes a key; returns whether it was there. */
  delete(keyId: string): boolean {
    return this.#entries.delete(keyId);
  }

  /** All live entries (for snapshots). */
  entries(): IterableIterator<StoredEntry> {
    return this.#entries.values();
  }

  /** Stops the expiry timer and drops every key. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#entries.clear();
    this.#heap.clear();
  }

  #expire(entry: StoredEntry): void {
    const keyId = keyIdOf(entry.key);
    this.#entries.delete(keyId);
    const version = this.#options.clock.next();
    this.#options.onExpired({ kind: 'delete', keyId, key: entry.key, version });
  }

  #schedule(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const next = this.#heap.peek();
    if (next === undefined || this.#closed) return;
    const delay = Math.min(Math.max(next.at - this.#options.now(), 0), MAX_TIMER_MS);
    this.#timerAt = next.at;
    this.#timer = setTimeout(() => this.#fire(), delay);
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = this.#options.now();
    for (let item = this.#heap.peek(); item !== undefined && item.at <= now; item = this.#heap.peek()) {
      this.#heap.pop();
      const entry = this.#entries.get(item.id);
      if (entry === undefined || entry.generation !== item.generation) continue;
      this.#expire(entry);
    }
    this.#schedule();
  }
}
