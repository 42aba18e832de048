/** Byte accounting of a spill buffer: per client, the size of each entry by seq, in order. */
export class SpillAccounting {
  readonly #sizes = new Map<string, { seq: number; size: number }[]>();
  #used = 0;
  readonly maxBytes: number;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  get usedBytes(): number {
    return this.#used;
  }

  /** Whether `bytes` more fit. */
  fits(bytes: number): boolean {
    return this.#used + bytes <= this.maxBytes;
  }

  add(clientId: string, seq: number, size: number): void {
    let list = this.#sizes.get(clientId);
    if (list === undefined) {
      list = [];
      this.#sizes.set(clientId, list);
    }
    list.push({ seq, size });
    this.#used += size;
  }

  /** Removes entries up to `uptoSeq` (all when undefined). */
  remove(clientId: string, uptoSeq?: number): void {
    const list = this.#sizes.get(clientId);
    if (list === undefined) return;
    let n = 0;
    while (n < list.length && (uptoSeq === undefined || (list[n] as { seq: number }).seq <= uptoSeq)) {
      this.#used -= (list[n] as { size: number }).size;
      n++;
    }
    list.splice(0, n);
    if (list.length === 0) this.#sizes.delete(clientId);
  }
}
