/**
 * Where each stored queue entry lives, and how many live entries each segment still holds.
 *
 * Entries are identified by their queue prefix (as a latin1 string) and seq; their place is a
 * segment id, or 0 for a format 1 entry stored as its own record. A segment whose count drops to
 * zero is deleted by the batch that removes its last entry. Built at open from the entry keys
 * (which carry their segment id), kept up to date as batches are written: it describes the store
 * as it is once every batch taken so far is on disk.
 */
export class SegmentIndex {
  readonly #places = new Map<string, Map<number, number>>();
  readonly #live = new Map<number, number>();
  /** Entries each segment is known to hold in all, live or not (see {@link noteTotal}). */
  readonly #total = new Map<number, number>();
  readonly #stored = new Set<number>();
  #lastId = 0;

  /** Where entry `seq` of `queue` is: a segment id, 0 (its own record), or undefined (not stored). */
  placeOf(queue: string, seq: number): number | undefined {
    return this.#places.get(queue)?.get(seq);
  }

  /** Live entries of segment `id`. */
  liveCount(id: number): number {
    return this.#live.get(id) ?? 0;
  }

  /** A fresh segment id, above every id seen so far. */
  nextId(): number {
    return ++this.#lastId;
  }

  /** Records an entry found on disk at open (`segment` 0: its own record). */
  loadEntry(queue: string, seq: number, segment: number): void {
    this.place(queue, seq, segment);
    if (segment > this.#lastId) this.#lastId = segment;
  }

  /** Records a segment found on disk at open. */
  loadSegment(id: number): void {
    this.#stored.add(id);
    if (id > this.#lastId) this.#lastId = id;
  }

  /** Segments on disk that no entry refers to (left by an interrupted write or a damaged store). */
  orphans(): number[] {
    return [...this.#stored].filter((id) => !this.#live.has(id));
  }

  /** Puts entry `seq` of `queue` in `segment` (0: its own record). The entry must not be placed already. */
  place(queue: string, seq: number, segment: number): void {
    let seqs = this.#places.get(queue);
    if (seqs === undefined) {
      seqs = new Map();
      this.#places.set(queue, seqs);
    }
    seqs.set(seq, segment);
    if (segment !== 0) {
      this.#live.set(segment, (this.#live.get(segment) ?? 0) + 1);
      this.#total.set(segment, (this.#total.get(segment) ?? 0) + 1);
      this.#stored.add(segment);
    }
  }

  /**
   * Removes entry `seq` of `queue`. Returns where it was (undefined: not stored) and whether its
   * segment now holds no live entry (then it is forgotten too: the caller deletes it).
   */
  remove(queue: string, seq: number): { readonly place: number; readonly emptied: boolean } | undefined {
    const seqs = this.#places.get(queue);
    const place = seqs?.get(seq);
    if (seqs === undefined || place === undefined) return undefined;
    seqs.delete(seq);
    if (seqs.size === 0) this.#places.delete(queue);
    if (place === 0) return { place, emptied: false };
    const left = (this.#live.get(place) ?? 1) - 1;
    if (left > 0) {
      this.#live.set(place, left);
      return { place, emptied: false };
    }
    this.#live.delete(place);
    this.#total.delete(place);
    this.#stored.delete(place);
    return { place, emptied: true };
  }

  /**
   * Segment `id` was read and holds `count` entries in all. At open only the live entries are
   * known (their keys); a restore that reads the segment learns how many it was written with.
   */
  noteTotal(id: number, count: number): void {
    const known = this.#total.get(id);
    if (known !== undefined && count > known) this.#total.set(id, count);
  }

  /**
   * Segments whose live entries are at most `maxLiveRatio` of the entries they hold in all (as far
   * as known): their dead entries' bytes are still on disk and charged. Oldest first.
   */
  sparse(maxLiveRatio: number): number[] {
    const out: number[] = [];
    for (const [id, live] of this.#live) {
      const total = this.#total.get(id) ?? live;
      if (live <= total * maxLiveRatio) out.push(id);
    }
    return out.sort((a, b) => a - b);
  }

  /** Forgets a segment deleted without entries (an orphan). */
  dropSegment(id: number): void {
    this.#stored.delete(id);
  }
}
