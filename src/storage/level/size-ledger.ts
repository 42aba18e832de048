/**
 * Size accounting of a level store: the bytes of its live records, each record counted as its
 * encoded key length plus its stored (framed, possibly encrypted) value length. LevelDB's own
 * overheads (log, obsolete versions before compaction, table indexes, snappy compression) are not
 * counted; see store-quota.ts for why the quota uses this figure.
 *
 * Queue entries are kept per queue (`prefix → seq → size`, small integers, cheap) so that a
 * session's whole queue can be dropped at once; other records (sessions, retained, meta) by key.
 */

import { queueIdOf } from './keys.js';

/** One change to the live record set, as a write makes it. */
export type SizeChange =
  | { readonly kind: 'put'; readonly key: Buffer; readonly size: number }
  | { readonly kind: 'del'; readonly key: Buffer }
  | { readonly kind: 'putEntry'; readonly prefix: Buffer; readonly seq: number; readonly size: number }
  | { readonly kind: 'delEntry'; readonly prefix: Buffer; readonly seq: number }
  | { readonly kind: 'clearQueue'; readonly prefix: Buffer };

/** What {@link SizeLedger.apply} did, and how to take it back. */
export interface AppliedChanges {
  /** Bytes of records written (new or replacing). */
  readonly added: number;
  /** Bytes of records deleted or replaced. */
  readonly freed: number;
  /** Records that did not exist before (new keys). */
  readonly created: number;
  /** Restores the ledger to its state before `apply` (only valid as the very next change). */
  undo(): void;
}

function keyId(key: Buffer): string {
  return key.toString('latin1');
}

function noUndo(): void {
  // apply(changes, false): nothing to take back
}

/** Live bytes of a store, maintained write by write. */
export class SizeLedger {
  readonly #records = new Map<string, number>();
  readonly #queues = new Map<string, Map<number, number>>();
  #used = 0;
  #loadedPrefix: Buffer | undefined;

  /** Sum of key + value bytes of the live records. */
  get usedBytes(): number {
    return this.#used;
  }

  /** Whether queue entry `seq` under `prefix` is a live record (counting every write submitted so far). */
  hasEntry(prefix: Buffer, seq: number): boolean {
    return this.#queues.get(queueIdOf(prefix))?.has(seq) === true;
  }

  /** Number of live records. */
  get records(): number {
    let count = this.#records.size;
    for (const queue of this.#queues.values()) count += queue.size;
    return count;
  }

  /** The seqs of the live entries under `prefix` (every write submitted so far), in no particular order. */
  entrySeqs(prefix: Buffer): number[] {
    const queue = this.#queues.get(queueIdOf(prefix));
    return queue === undefined ? [] : [...queue.keys()];
  }

  /**
   * Counts a record found on disk at open. `entry`: the key is a queue entry's (either format;
   * see keys.ts), with its prefix length and seq.
   */
  load(key: Buffer, valueBytes: number, entry?: { readonly prefixLength: number; readonly seq: number }): void {
    if (entry === undefined) {
      this.apply([{ kind: 'put', key, size: key.length + valueBytes }], false);
      return;
    }
    const at = entry.prefixLength;
    const seq = entry.seq;
    // Keys come in order: one prefix Buffer per queue, not one per entry (see queueIdOf).
    let prefix = this.#loadedPrefix;
    if (prefix === undefined || prefix.length !== at || key.compare(prefix, 0, at, 0, at) !== 0) {
      prefix = Buffer.from(key.subarray(0, at));
      this.#loadedPrefix = prefix;
    }
    this.apply([{ kind: 'putEntry', prefix, seq, size: key.length + valueBytes }], false);
  }

  /**
   * Same as `apply([{ kind: 'putEntry', prefix, seq, size }], false)`, without a change object or
   * a result object; returns the bytes the entry had before (0: it is new).
   */
  putEntry(prefix: Buffer, seq: number, size: number): number {
    const id = queueIdOf(prefix);
    let queue = this.#queues.get(id);
    if (queue === undefined) {
      queue = new Map();
      this.#queues.set(id, queue);
    }
    const before = queue.get(seq) ?? 0;
    queue.set(seq, size);
    this.#used += size - before;
    return before;
  }

  /** Same as `apply([{ kind: 'delEntry', prefix, seq }], false)`, without objects; returns the bytes freed. */
  delEntry(prefix: Buffer, seq: number): number {
    const id = queueIdOf(prefix);
    const queue = this.#queues.get(id);
    const before = queue?.get(seq);
    if (queue === undefined || before === undefined) return 0;
    queue.delete(seq);
    if (queue.size === 0) this.#queues.delete(id);
    this.#used -= before;
    return before;
  }

  /**
   * Applies `changes` in order. `undoable` false: the result's `undo` does nothing (no undo
   * closures are made; for writes that cannot be refused).
   */
  apply(changes: readonly SizeChange[], undoable = true): AppliedChanges {
    const undo: (() => void)[] | undefined = undoable ? [] : undefined;
    let added = 0;
    let freed = 0;
    let created = 0;
    for (const change of changes) {
      switch (change.kind) {
        case 'put':
        case 'del': {
          const id = keyId(change.key);
          const before = this.#records.get(id);
          if (before !== undefined) freed += before;
          if (change.kind === 'put') {
            added += change.size;
            if (before === undefined) created++;
            this.#records.set(id, change.size);
          } else this.#records.delete(id);
          undo?.push(() => (before === undefined ? this.#records.delete(id) : this.#records.set(id, before)));
          break;
        }
        case 'putEntry':
        case 'delEntry': {
          const id = queueIdOf(change.prefix);
          let queue = this.#queues.get(id);
          const before = queue?.get(change.seq);
          if (before !== undefined) freed += before;
          if (change.kind === 'delEntry') {
            if (queue === undefined || before === undefined) break;
            queue.delete(change.seq);
            if (queue.size === 0) this.#queues.delete(id);
            const kept = queue;
            undo?.push(() => {
              kept.set(change.seq, before);
              this.#queues.set(id, kept);
            });
            break;
          }
          added += change.size;
          if (before === undefined) created++;
          const fresh = queue === undefined;
          if (queue === undefined) {
            queue = new Map();
            this.#queues.set(id, queue);
          }
          queue.set(change.seq, change.size);
          const target = queue;
          undo?.push(() => {
            if (fresh) this.#queues.delete(id);
            else if (before === undefined) target.delete(change.seq);
            else target.set(change.seq, before);
          });
          break;
        }
        case 'clearQueue': {
          const id = queueIdOf(change.prefix);
          const queue = this.#queues.get(id);
          if (queue === undefined) break;
          for (const size of queue.values()) freed += size;
          this.#queues.delete(id);
          undo?.push(() => this.#queues.set(id, queue));
          break;
        }
      }
    }
    const net = added - freed;
    this.#used += net;
    if (undo === undefined) return { added, freed, created, undo: noUndo };
    return {
      added,
      freed,
      created,
      undo: () => {
        for (let i = undo.length - 1; i >= 0; i--) (undo[i] as () => void)();
        this.#used -= net;
      },
    };
  }
}
