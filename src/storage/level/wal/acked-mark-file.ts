/**
 * The acknowledged mark: a small file next to the LevelDB files (`<store>/OPS-ACKED`) that remembers,
 * outside the write-ahead log, the commit mark (commit-mark.ts) of a batch known durable, so that
 * a log that lost its tail can be told from one that never had it. It is a lower bound: it is
 * advanced in the background after batches are durable (never on the PUBACK path), so after a
 * crash the last batches acknowledged within one update of it are not covered; a clean close
 * writes the exact last batch and `clean: true`.
 *
 * Two 64-byte slots written alternately (`[magic "OPSA"][version u8][clean u8][0 u16]
 * [generation u64 BE][batch u64 BE][entries u32 BE][total u64 BE][CRC-32C u32 BE of the 36 bytes
 * before]`), each write followed by `fdatasync`: a write torn by a crash leaves the other slot,
 * the one of the higher generation among the valid ones counts.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { crc32c } from './crc32c.js';
import type { CommitMark } from './commit-mark.js';

/** Name of the file in the store's directory (LevelDB ignores names it does not know). */
export const ACKED_MARK_FILE = 'OPS-ACKED';

const MAGIC = 0x4f505341; // "OPSA"
const VERSION = 1;
const SLOT_BYTES = 64;
const BODY_BYTES = 36;

/** What the file holds. */
export interface AckedMark {
  /** Writes of the file so far; the valid slot with the highest counts. */
  readonly generation: number;
  /** Written by a clean close: `mark` is then exactly the last batch written. */
  readonly clean: boolean;
  readonly mark: CommitMark;
}

/** The file's state at open. */
export type AckedMarkState = { readonly kind: 'absent' } | { readonly kind: 'damaged' } | { readonly kind: 'valid'; readonly value: AckedMark };

function encodeSlot(value: AckedMark): Buffer {
  const slot = Buffer.alloc(SLOT_BYTES);
  slot.writeUInt32BE(MAGIC, 0);
  slot[4] = VERSION;
  slot[5] = value.clean ? 1 : 0;
  slot.writeBigUInt64BE(BigInt(value.generation), 8);
  slot.writeBigUInt64BE(BigInt(value.mark.batch), 16);
  slot.writeUInt32BE(value.mark.entries, 24);
  slot.writeBigUInt64BE(BigInt(value.mark.total), 28);
  slot.writeUInt32BE(crc32c(slot, 0, BODY_BYTES), BODY_BYTES);
  return slot;
}

function decodeSlot(bytes: Buffer): AckedMark | undefined {
  if (bytes.length < SLOT_BYTES || bytes.readUInt32BE(0) !== MAGIC || bytes[4] !== VERSION) return undefined;
  if (bytes.readUInt32BE(BODY_BYTES) !== crc32c(bytes, 0, BODY_BYTES)) return undefined;
  return {
    generation: Number(bytes.readBigUInt64BE(8)),
    clean: bytes[5] === 1,
    mark: { batch: Number(bytes.readBigUInt64BE(16)), entries: bytes.readUInt32BE(24), total: Number(bytes.readBigUInt64BE(28)) },
  };
}

const OPEN_FLAGS = constants.O_RDWR | constants.O_NOFOLLOW;

/** Reads the file of the store at `dir` (nothing is written). */
export async function readAckedMark(dir: string): Promise<AckedMarkState> {
  let handle: FileHandle;
  try {
    handle = await open(join(dir, ACKED_MARK_FILE), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
    throw error;
  }
  try {
    const bytes = Buffer.alloc(2 * SLOT_BYTES);
    const { bytesRead } = await handle.read(bytes, 0, bytes.length, 0);
    const slots = [decodeSlot(bytes.subarray(0, Math.min(bytesRead, SLOT_BYTES))), decodeSlot(bytes.subarray(SLOT_BYTES, bytesRead))];
    const valid = slots.filter((s): s is AckedMark => s !== undefined).sort((a, b) => b.generation - a.generation);
    const best = valid[0];
    return best === undefined ? { kind: 'damaged' } : { kind: 'valid', value: best };
  } finally {
    await handle.close();
  }
}

/** Shortest time between two updates of the file: batches acknowledged in the last interval before a crash are the detection gap. */
export const ACKED_MARK_INTERVAL_MS = 50;

/**
 * The file of an open store: {@link AckedMarkFile.advance} after each durable batch (a write in
 * the background, at most one at a time and one per {@link ACKED_MARK_INTERVAL_MS}, of the newest mark), {@link AckedMarkFile.close} at a clean close.
 * A failed write stops the updates (the mark stays lower: weaker detection, never a false alarm).
 */
export class AckedMarkFile {
  readonly #handle: FileHandle;
  #generation: number;
  #latest: CommitMark;
  #written: CommitMark;
  #flushing: Promise<void> | undefined;
  #failed: unknown;

  private constructor(handle: FileHandle, generation: number, mark: CommitMark) {
    this.#handle = handle;
    this.#generation = generation;
    this.#latest = mark;
    this.#written = mark;
  }

  /**
   * Opens (creating, then syncing the directory) the file of the store at `dir` and writes
   * `mark` (not clean) as the generation after `after`, before the store takes writes.
   */
  static async open(dir: string, after: number, mark: CommitMark): Promise<AckedMarkFile> {
    const path = join(dir, ACKED_MARK_FILE);
    let created = false;
    let handle: FileHandle;
    try {
      handle = await open(path, OPEN_FLAGS);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      handle = await open(path, OPEN_FLAGS | constants.O_CREAT | constants.O_EXCL, 0o600);
      created = true;
    }
    const file = new AckedMarkFile(handle, after, mark);
    try {
      await file.#write(mark, false);
      if (created) {
        const directory = await open(dir, constants.O_RDONLY);
        await directory.sync().finally(() => directory.close());
      }
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
    return file;
  }

  /** The first write error, if the updates stopped. */
  get failure(): unknown {
    return this.#failed;
  }

  /** `mark`'s batch is durable: records it in the background. */
  advance(mark: CommitMark): void {
    this.#latest = mark;
    if (this.#flushing === undefined && this.#failed === undefined) this.#flushing = this.#flush();
  }

  /** Waits for the update in progress, writes `mark` as the clean last batch, closes the file. */
  async close(mark: CommitMark): Promise<void> {
    await this.#flushing;
    try {
      if (this.#failed === undefined) await this.#write(mark, true);
    } finally {
      await this.#handle.close();
    }
  }

  async #flush(): Promise<void> {
    try {
      while (this.#written !== this.#latest) {
        const mark = this.#latest;
        const started = performance.now();
        await this.#write(mark, false);
        this.#written = mark;
        // Paced: a write and fdatasync back to back competed with the store's own fsyncs for the disk
        // and the thread pool (persisted QoS 1 lost a third of its throughput).
        const rest = ACKED_MARK_INTERVAL_MS - (performance.now() - started);
        if (rest > 0 && this.#written !== this.#latest) await delay(rest);
      }
    } catch (error) {
      this.#failed = error;
    } finally {
      this.#flushing = undefined;
    }
  }

  async #write(mark: CommitMark, clean: boolean): Promise<void> {
    const generation = ++this.#generation;
    const slot = encodeSlot({ generation, clean, mark });
    await this.#handle.write(slot, 0, SLOT_BYTES, (generation % 2) * SLOT_BYTES);
    await this.#handle.datasync();
  }
}
