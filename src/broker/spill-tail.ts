import type { QueueEntryRecord } from '../storage/broker-store.js';
import type { SpillBuffer } from '../storage/spill-buffer.js';
import type { Counters } from './counters.js';
import { QUEUED_DELIVERY_OVERHEAD_BYTES } from './broker-options.js';

/** Entries read back from the disk buffer at a time. */
export const SPILL_READ_BATCH = 256;

/**
 * The newest part of a (not persisted) session queue, kept in the disk-backed message buffer once
 * the memory budget is spent. While it holds anything, every newer message goes to it too, so
 * order is kept: memory part (older) first, then the tail, read back in batches as the session
 * drains its memory part.
 */
export class SpillTail {
  readonly #buffer: SpillBuffer;
  readonly #clientId: string;
  readonly #counters: Counters;
  readonly #onError: (error: unknown) => void;
  #count = 0;
  #bytes = 0;
  #readSeq = 0;
  #loading = false;
  /** Bumped by drop(): a read that was under way then is ignored. */
  #generation = 0;

  constructor(buffer: SpillBuffer, clientId: string, counters: Counters, onError: (error: unknown) => void) {
    this.#buffer = buffer;
    this.#clientId = clientId;
    this.#counters = counters;
    this.#onError = onError;
  }

  /** Entries on disk. */
  get count(): number {
    return this.#count;
  }

  /** What the entries on disk cost against the session's queue bound (payload + overhead each). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Writes one entry to the buffer; false (nothing written) when the buffer is full. */
  push(entry: QueueEntryRecord): boolean {
    const written = this.#buffer.append(this.#clientId, [entry]);
    if (written === false) return false;
    this.#count++;
    this.#bytes += entryCost(entry);
    this.#counters.queued++;
    this.#counters.spilled++;
    written.catch((error: unknown) => {
      this.#counters.messagesDropped++; // the entry never reached the buffer; the next read reconciles the count
      this.#onError(error);
    });
    return true;
  }

  /** Reads the next batch (unless one is being read) and hands it over in order. */
  load(onLoaded: (entries: QueueEntryRecord[]) => void): void {
    if (this.#loading || this.#count === 0) return;
    this.#loading = true;
    const generation = this.#generation;
    this.#buffer.read(this.#clientId, this.#readSeq, SPILL_READ_BATCH).then(
      (entries) => {
        this.#loading = false;
        if (generation !== this.#generation) return; // the session ended meanwhile
        const missing = entries.length < SPILL_READ_BATCH ? this.#count - entries.length : 0;
        this.#count -= entries.length + missing; // a short read means nothing else is on disk
        if (this.#count === 0) this.#bytes = 0;
        else for (const entry of entries) this.#bytes -= entryCost(entry);
        this.#counters.queued -= missing;
        this.#counters.spilled -= entries.length + missing;
        const last = entries[entries.length - 1];
        if (last !== undefined) {
          this.#readSeq = last.seq;
          this.#buffer.discard(this.#clientId, last.seq).catch(this.#onError);
        }
        onLoaded(entries);
      },
      (error: unknown) => {
        this.#loading = false;
        this.#onError(error);
      },
    );
  }

  /** Forgets everything on disk (the session ended). */
  drop(): void {
    this.#generation++;
    this.#loading = false;
    this.#counters.queued -= this.#count;
    this.#counters.spilled -= this.#count;
    this.#count = 0;
    this.#bytes = 0;
    this.#buffer.drop(this.#clientId).catch(this.#onError);
  }
}

function entryCost(entry: QueueEntryRecord): number {
  return entry.message.payload.length + QUEUED_DELIVERY_OVERHEAD_BYTES;
}
