/**
 * The level store's group commit: writes submitted together become one atomic, synced batch
 * ({@link GroupCommit}). The queue-entry parts of its operations (entry identity, deferred values)
 * are defined by queue-ops.ts.
 */
import type { DeferredEntry, DeferredValue, EntrySlot } from './queue-ops.js';

/** One operation of an atomic batch. */
export type BatchOp =
  | (EntrySlot & {
      readonly type: 'put';
      readonly key: Buffer;
      readonly value: Buffer | DeferredValue | DeferredEntry;
      /**
       * The key held no record before this put, as far as every write submitted before it goes:
       * if the batch then deletes it again, neither the put nor the delete needs to reach the disk.
       */
      readonly fresh?: boolean;
    })
  | (EntrySlot & { readonly type: 'del'; readonly key: Buffer });

/** A plain put or del, as written. */
export type WriteOp = { readonly type: 'put'; readonly key: Buffer; readonly value: Buffer } | { readonly type: 'del'; readonly key: Buffer };

/**
 * Receives the writes of a batch as {@link BatchTarget.finish} makes them, in order. A key or
 * value may be a buffer the caller reuses right after the call: the sink consumes (copies) it.
 */
export interface WriteSink {
  put(key: Buffer, value: Buffer): void;
  del(key: Buffer): void;
}

/** The writes of one batch, collected, then written atomically and durably (synced). */
export interface BatchWrites extends WriteSink {
  /** Puts and deletes collected so far. */
  readonly size: number;
  write(): Promise<void>;
}

/** Where batches go: the turning of a batch into plain writes, and an atomic, durable (synced) write. */
export interface BatchTarget {
  /** An empty set of writes for the batch being taken. */
  begin(): BatchWrites;
  /**
   * Turns the coalesced operations of one batch (in submission order) into the puts and deletes
   * written, into `sink`: deferred values sealed, entries resolved to their keys. Called
   * synchronously when the batch is taken: every write submitted before is in this batch or an
   * earlier one, every write submitted later is in a later one. Returns the bytes freed by what
   * it adds (records it deletes), reported with the batch's own.
   */
  finish(ops: readonly BatchOp[], sink: WriteSink): number;
  /**
   * Called after {@link finish} when the batch writes anything, just before it is written: may add
   * a last write to it (the store's commit mark).
   */
  seal?(sink: WriteSink): void;
  /** The batch sealed last is durable. */
  durable?(): void;
}

/** How writes were grouped so far. */
export interface GroupCommitStats {
  /** Batches written. */
  readonly batches: number;
  /** Writes (calls of `submit`) carried by those batches. */
  readonly writes: number;
  /** Most writes carried by one batch. */
  readonly largestBatch: number;
  /**
   * Fresh puts deleted again before their batch was written (a message acknowledged by every
   * subscriber before it reached the disk): neither the put nor the delete was written.
   */
  readonly cancelledPuts: number;
}

/** Writes merged into one batch; they share one promise. */
class Batch {
  readonly ops: BatchOp[] = [];
  /** Submits carrying operations. */
  writes = 0;
  /** Bytes the batch's writes free, reported once it is durable. */
  freed = 0;
  /** Some operations may touch the same key: the batch is coalesced before it is written. */
  mayRepeat = false;
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (error: unknown) => void;

  constructor() {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // A write nobody awaits must not become an unhandled rejection; awaiting callers still see it.
    this.done.catch(noop);
  }
}

function noop(): void {
  // see Batch
}

/** What coalescing keeps of a batch. */
interface Coalesced {
  readonly ops: BatchOp[];
  readonly cancelled: number;
}

/**
 * The batch is atomic, so only the last operation on each key matters: a queue entry put,
 * re-put with its packet id and deleted on acknowledgement within one batch costs one delete,
 * and nothing at all when its first put was fresh (the key was absent before the batch).
 *
 * Each key is identified by the index of the first operation on it; an operation is kept if no
 * later operation has the same identity (found scanning backwards), so order is preserved.
 */
function coalesce(ops: BatchOp[]): Coalesced {
  const n = ops.length;
  if (n < 2) return { ops, cancelled: 0 };
  const first = new Int32Array(n);
  const byQueue = new Map<Buffer, Map<number, number>>();
  let byKey: Map<string, number> | undefined;
  let repeated = false;
  for (let i = 0; i < n; i++) {
    const op = ops[i] as BatchOp;
    let seen: number | undefined;
    if (op.queue !== undefined && op.seq !== undefined) {
      let seqs = byQueue.get(op.queue);
      if (seqs === undefined) {
        seqs = new Map();
        byQueue.set(op.queue, seqs);
      }
      seen = seqs.get(op.seq);
      if (seen === undefined) seqs.set(op.seq, i);
    } else {
      const id = op.key.toString('latin1');
      seen = (byKey ??= new Map()).get(id);
      if (seen === undefined) byKey.set(id, i);
    }
    if (seen !== undefined) repeated = true;
    first[i] = seen ?? i;
  }
  if (!repeated) return { ops, cancelled: 0 };
  const last = new Uint8Array(n);
  const done = new Uint8Array(n);
  for (let i = n - 1; i >= 0; i--) {
    const id = first[i] as number;
    if (done[id] === 1) continue;
    done[id] = 1;
    last[i] = 1;
  }
  const kept: BatchOp[] = [];
  let cancelled = 0;
  for (let i = 0; i < n; i++) {
    if (last[i] !== 1) continue;
    const op = ops[i] as BatchOp;
    const opener = ops[first[i] as number] as BatchOp;
    if (op.type === 'del' && opener.type === 'put' && opener.fresh === true) {
      cancelled++; // absent before the batch, absent after it
      continue;
    }
    kept.push(op);
  }
  return { ops: kept, cancelled };
}

/**
 * Group commit: writes submitted in the same event-loop turn, or while a batch is being
 * written, are merged into one atomic synced batch. Batches are written one at a time, in
 * submission order, so when a write's promise resolves every write submitted before it is
 * durable too. A failed batch rejects the promise of all its writes (error from `failure`).
 *
 * Work is per batch, not per write: the writes of a batch share one promise, the target turns
 * the whole batch into writes at once (deferred values sealed then), and bytes freed are
 * reported once per batch.
 */
export class GroupCommit {
  readonly #target: BatchTarget;
  readonly #failure: (error: unknown) => Error;
  readonly #written: ((freedBytes: number) => void) | undefined;
  #pending: Batch | undefined;
  #scheduled = false;
  #running = false;
  #batches = 0;
  #writes = 0;
  #largest = 0;
  #cancelled = 0;

  /** `written` is told, after each durable batch, how many bytes its writes freed (if any). */
  constructor(target: BatchTarget, failure: (error: unknown) => Error, written?: (freedBytes: number) => void) {
    this.#target = target;
    this.#failure = failure;
    this.#written = written;
  }

  /**
   * Queues `ops` for the next batch; resolves once that batch is durably written. `freedBytes`:
   * bytes of records these ops delete or replace (reported to `written` once durable).
   */
  submit(ops: readonly BatchOp[], freedBytes = 0): Promise<void> {
    const batch = (this.#pending ??= new Batch());
    if (ops.length > 0) {
      batch.mayRepeat = true; // not known: coalesce (an empty submit, a barrier, adds nothing to repeat)
      batch.writes++;
      for (const op of ops) batch.ops.push(op);
    }
    batch.freed += freedBytes;
    this.#schedule();
    return batch.done;
  }

  /**
   * {@link submit} of a single operation, without an array. `distinct`: the caller knows that no
   * other operation of the batches not yet taken touches the same key (then a batch made only of
   * such operations skips coalescing). When unsure, pass false.
   */
  submitOne(op: BatchOp, freedBytes: number, distinct: boolean): Promise<void> {
    const batch = (this.#pending ??= new Batch());
    if (!distinct) batch.mayRepeat = true;
    batch.writes++;
    batch.ops.push(op);
    batch.freed += freedBytes;
    this.#schedule();
    return batch.done;
  }

  /** Resolves once every write submitted before the call is written (or failed). */
  barrier(): Promise<void> {
    if (!this.#running && this.#pending === undefined) return Promise.resolve();
    return this.submit([]).catch(noop);
  }

  get stats(): GroupCommitStats {
    return { batches: this.#batches, writes: this.#writes, largestBatch: this.#largest, cancelledPuts: this.#cancelled };
  }

  #schedule(): void {
    if (this.#running || this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#run();
    });
  }

  async #run(): Promise<void> {
    this.#running = true;
    for (let batch = this.#pending; batch !== undefined; batch = this.#pending) {
      this.#pending = undefined;
      try {
        const { ops, cancelled } = batch.mayRepeat ? coalesce(batch.ops) : { ops: batch.ops, cancelled: 0 };
        const writes = this.#target.begin();
        batch.freed += this.#target.finish(ops, writes);
        const written = writes.size > 0;
        if (written) {
          this.#target.seal?.(writes);
          await writes.write();
          this.#target.durable?.();
        }
        if (written || cancelled > 0) {
          this.#batches++;
          this.#writes += batch.writes;
          this.#largest = Math.max(this.#largest, batch.writes);
          this.#cancelled += cancelled;
        }
        batch.resolve();
        if (batch.freed > 0) this.#written?.(batch.freed);
      } catch (error) {
        batch.reject(this.#failure(error));
      }
    }
    this.#running = false;
  }
}
