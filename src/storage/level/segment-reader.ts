import type { SegmentContents } from './segment-codec.js';

/** Decoded segments kept while some of their entries have not been handed out, at most this many plain bytes. */
export const SEGMENT_CACHE_BYTES = 256 * 1024 * 1024;

interface Cached {
  readonly contents: SegmentContents;
  readonly bytes: number;
  /** Entries not handed out yet. */
  remaining: number;
}

/** Loads segments by id: opened (authenticated) and decoded, in the order asked. Rejects as the store reports errors. */
export type SegmentLoader = (ids: readonly number[]) => Promise<{ contents: SegmentContents; bytes: number }[]>;

/**
 * Reads queue entries out of segments at restore. A segment usually holds entries of several
 * sessions (one batch); each is read and opened once, kept while some of its live entries have
 * not been handed out, and dropped once they all have or it is deleted. The cache is bounded
 * ({@link SEGMENT_CACHE_BYTES}, oldest first): past it a segment may be read again, never wrongly.
 */
export class SegmentReader {
  readonly #load: SegmentLoader;
  readonly #limit: number;
  readonly #cache = new Map<number, Cached>();
  #bytes = 0;

  constructor(load: SegmentLoader, limitBytes = SEGMENT_CACHE_BYTES) {
    this.#load = load;
    this.#limit = limitBytes;
  }

  /**
   * Segments `ids`, from the cache or loaded (all at once); `live(id)` is how many live entries
   * segment `id` holds. The answer holds every id asked, whatever the cache evicts meanwhile.
   */
  async fetch(ids: Iterable<number>, live: (id: number) => number): Promise<Map<number, SegmentContents>> {
    const found = new Map<number, SegmentContents>();
    const wanted = new Set<number>();
    for (const id of ids) {
      const cached = this.#cache.get(id);
      if (cached === undefined) wanted.add(id);
      else found.set(id, cached.contents);
    }
    if (wanted.size === 0) return found;
    const missing = [...wanted];
    const loaded = await this.#load(missing);
    for (let i = 0; i < missing.length; i++) {
      const id = missing[i] as number;
      const { contents, bytes } = loaded[i] as { contents: SegmentContents; bytes: number };
      found.set(id, contents);
      this.#evictFor(bytes);
      this.#cache.set(id, { contents, bytes, remaining: live(id) });
      this.#bytes += bytes;
    }
    return found;
  }

  /** One entry of segment `id` was handed out: the segment is dropped once all its live entries were. */
  handedOut(id: number): void {
    const cached = this.#cache.get(id);
    if (cached !== undefined && --cached.remaining <= 0) {
      this.#cache.delete(id);
      this.#bytes -= cached.bytes;
    }
  }

  /** Drops segment `id` from the cache (it was deleted). */
  forget(id: number): void {
    const cached = this.#cache.get(id);
    if (cached === undefined) return;
    this.#cache.delete(id);
    this.#bytes -= cached.bytes;
  }

  /** Drops every cached segment. */
  clear(): void {
    this.#cache.clear();
    this.#bytes = 0;
  }

  #evictFor(bytes: number): void {
    for (const [id, cached] of this.#cache) {
      if (this.#bytes + bytes <= this.#limit) return;
      this.#cache.delete(id);
      this.#bytes -= cached.bytes;
    }
  }
}
