/** A binary min-heap of expiry deadlines (stale entries are skipped by the caller). */

/** One scheduled expiry. */
export interface ExpiryItem {
  readonly at: number;
  /** Map key of the entry (latin1 of the key bytes). */
  readonly id: string;
  /** Generation of the entry when scheduled; a later write makes the item stale. */
  readonly generation: number;
}

/** Min-heap ordered by `at`. */
export class ExpiryHeap {
  readonly #items: ExpiryItem[] = [];

  /** Number of scheduled items (stale ones included). */
  get size(): number {
    return this.#items.length;
  }

  /** The earliest item, if any. */
  peek(): ExpiryItem | undefined {
    return this.#items[0];
  }

  /** Adds an item. */
  push(item: ExpiryItem): void {
    const a = this.#items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((a[p] as ExpiryItem).at <= item.at) break;
      a[i] = a[p] as ExpiryItem;
      i = p;
    }
    a[i] = item;
  }

  /** Removes and returns the earliest item. */
  pop(): ExpiryItem | undefined {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const c = r < a.length && (a[r] as ExpiryItem).at < (a[l] as ExpiryItem).at ? r : l;
      if ((a[c] as ExpiryItem).at >= last.at) break;
      a[i] = a[c] as ExpiryItem;
      i = c;
    }
    a[i] = last;
    return top;
  }

  /** Drops everything. */
  clear(): void {
    this.#items.length = 0;
  }
}
