import type { KeyRange } from './keys.js';

/** One operation of an atomic batch. `clear` deletes every key in a range (expanded at flush time). */
export type BatchOp =
  | { readonly type: 'put'; readonly key: Buffer; readonly value: Buffer | LazyValue }
  | { readonly type: 'del'; readonly key: Buffer }
  | { readonly type: 'clear'; readonly range: KeyRange };

/**
 * A value made only when its batch is written: a put that a later delete of the same key in the
 * same batch cancels (a message queued and acknowledged within one batch) is never encrypted.
 */
export type LazyValue = () => Buffer;

/** A plain put or del, as written. */
export type WriteOp = { readonly type: 'put'; readonly key: Buffer; readonly value: Buffer } | { readonly type: 'del'; readonly key: Buffer };

type FlatOp = Exclude<BatchOp, { type: 'clear' }>;

/** Where batches go: an atomic, durable (synced) write, and a key listing for `clear`. */
export interface BatchTarget {
  write(ops: WriteOp[]): Promise<void>;
  keysIn(range: KeyRange): Promise<Buffer[]>;
}

/** How writes were grouped so far. */
export interface GroupCommitStats {
  /** Batches written. */
  readonly batches: number;
  /** Writes (calls of `submit`) carried by those batches. */
  readonly writes: number;
  /** Most writes carried by one batch. */
  readonly largestBatch: number;
}

interface Pending {
  readonly ops: readonly BatchOp[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

function inRange(key: Buffer, range: KeyRange): boolean {
  return Buffer.compare(key, range.gte) >= 0 && Buffer.compare(key, range.lt) < 0;
}

/**
 * The batch is atomic, so only the last operation on each key matters: a queue entry put,
 * re-put with its packet id and deleted on acknowledgement within one batch costs one delete.
 */
function coalesce(ops: FlatOp[]): WriteOp[] {
  let kept = ops;
  if (ops.length > 1) {
    const last = new Map<string, number>();
    for (let i = 0; i < ops.length; i++) last.set((ops[i] as FlatOp).key.toString('latin1'), i);
    if (last.size !== ops.length) kept = ops.filter((op, i) => last.get(op.key.toString('latin1')) === i);
  }
  return kept.map((op) => (op.type === 'put' && typeof op.value === 'function' ? { type: 'put', key: op.key, value: op.value() } : (op as WriteOp)));
}

function noop(): void {
  // A write nobody awaits must not become an unhandled rejection; awaiting callers still see it.
}

/**
 * Group commit: writes submitted in the same event-loop turn, or while a batch is being
 * written, are merged into one atomic synced batch. Batches are written one at a time, in
 * submission order, so when a write's promise resolves every write submitted before it is
 * durable too. A failed batch rejects the promises of all its writes (error from `failure`).
 */
export class GroupCommit {
  readonly #target: BatchTarget;
  readonly #failure: (error: unknown) => Error;
  #pending: Pending[] = [];
  #scheduled = false;
  #running = false;
  #batches = 0;
  #writes = 0;
  #largest = 0;

  constructor(target: BatchTarget, failure: (error: unknown) => Error) {
    this.#target = target;
    this.#failure = failure;
  }

  /** Queues `ops` for the next batch; resolves once that batch is durably written. */
  submit(ops: readonly BatchOp[]): Promise<void> {
    const promise = new Promise<void>((resolve, reject) => {
      this.#pending.push({ ops, resolve, reject });
    });
    promise.catch(noop);
    this.#schedule();
    return promise;
  }

  /** Resolves once every write submitted before the call is written (or failed). */
  barrier(): Promise<void> {
    if (!this.#running && this.#pending.length === 0) return Promise.resolve();
    return this.submit([]).catch(noop);
  }

  get stats(): GroupCommitStats {
    return { batches: this.#batches, writes: this.#writes, largestBatch: this.#largest };
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
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      try {
        const ops = await this.#expand(batch);
        if (ops.length > 0) {
          await this.#target.write(ops);
          this.#batches++;
          const writes = batch.filter((p) => p.ops.length > 0).length;
          this.#writes += writes;
          this.#largest = Math.max(this.#largest, writes);
        }
        for (const p of batch) p.resolve();
      } catch (error) {
        const failure = this.#failure(error);
        for (const p of batch) p.reject(failure);
      }
    }
    this.#running = false;
  }

  /** Flattens the batch; a `clear` deletes keys on disk and keys put earlier in this batch. */
  async #expand(batch: readonly Pending[]): Promise<WriteOp[]> {
    const clears: KeyRange[] = [];
    for (const p of batch) for (const op of p.ops) if (op.type === 'clear') clears.push(op.range);
    const onDisk = await Promise.all(clears.map((range) => this.#target.keysIn(range)));
    const out: FlatOp[] = [];
    let nextClear = 0;
    for (const p of batch) {
      for (const op of p.ops) {
        if (op.type !== 'clear') {
          out.push(op);
          continue;
        }
        const range = op.range;
        const earlier = out.filter((o) => o.type === 'put' && inRange(o.key, range)).map((o) => o.key);
        for (const key of [...(onDisk[nextClear++] ?? []), ...earlier]) out.push({ type: 'del', key });
      }
    }
    return coalesce(out);
  }
}
