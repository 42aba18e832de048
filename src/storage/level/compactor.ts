import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** When a compaction is due: after `min(maxBytes, max(minBytes, ratio × live bytes))` bytes were freed. */
export interface CompactionPolicy {
  /** Never compact for less than this many freed bytes. */
  readonly minBytes: number;
  /** Always compact once this many bytes were freed. */
  readonly maxBytes: number;
  /** Compact once the freed bytes reach this fraction of the live bytes (between the bounds). */
  readonly ratio: number;
}

/**
 * Default policy: 25% of the live size, at least 1 MiB, at most 8 MiB of freed bytes. The 1 MiB
 * floor matters under steady QoS 1 load on a small live set (messages acknowledged as fast as they
 * arrive): with a 64 KiB floor a full `compactRange` plus a directory scan ran every few hundred
 * messages, a fifth of the broker's storage time; below 1 MiB the garbage is small next to
 * LevelDB's own 4 MB write buffer and log anyway.
 */
export const DEFAULT_COMPACTION_POLICY: CompactionPolicy = { minBytes: 1024 * 1024, maxBytes: 8 * 1024 * 1024, ratio: 0.25 };

/** What the compactor did so far. */
export interface CompactionStats {
  /** Compactions finished (successfully or not). */
  readonly runs: number;
  /** Compactions that failed (the store is still consistent; LevelDB compacts on its own too). */
  readonly failures: number;
  /** Whether one is running now. */
  readonly running: boolean;
  /** Bytes freed since the last compaction started. */
  readonly freedBytes: number;
  /** Whether manual compaction is available (`compactRange` of classic-level). */
  readonly available: boolean;
}

/**
 * Runs a store's compaction in the background once enough bytes were freed.
 *
 * LevelDB limit worth knowing: `compactRange` rewrites every level into the deepest one that has
 * files, but not the files already in that deepest level. A memtable flushed to a table keeps
 * every version it held (a put and its later delete both), and a table with no overlap may be
 * placed directly at level 2; if it is the deepest, its garbage stays until newer overlapping data
 * is compacted onto it (for a queue: acknowledgements written after the flush do that). The
 * common case, deletes written after the data reached a table (restart, memtable flush, live
 * consumption lagging), is reclaimed by the next run. One run at a time:
 * bytes freed during a run count towards the next one, which starts when the current one ends.
 * Writes never wait for it. Errors are counted, not thrown (storage has no logger).
 */
export class Compactor {
  readonly #compact: (() => Promise<void>) | undefined;
  readonly #liveBytes: () => number;
  readonly #policy: CompactionPolicy;
  #freed = 0;
  #runs = 0;
  #failures = 0;
  #running: Promise<void> | undefined;
  #stopped = false;

  /**
   * `compact` undefined: compaction is not available (freed bytes are still counted).
   * `liveBytes` gives the store's live size, for the policy's ratio.
   */
  constructor(compact: (() => Promise<void>) | undefined, liveBytes: () => number, policy: CompactionPolicy = DEFAULT_COMPACTION_POLICY) {
    this.#compact = compact;
    this.#liveBytes = liveBytes;
    this.#policy = policy;
  }

  get stats(): CompactionStats {
    return { runs: this.#runs, failures: this.#failures, running: this.#running !== undefined, freedBytes: this.#freed, available: this.#compact !== undefined };
  }

  /** Records bytes freed by a durable write; starts a compaction if one is due. */
  freed(bytes: number): void {
    if (bytes <= 0) return;
    this.#freed += bytes;
    this.#maybeStart();
  }

  /** Resolves once no compaction is running or due to start. */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  /** Lets a running compaction finish; starts no more. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.idle();
  }

  #due(): boolean {
    const { minBytes, maxBytes, ratio } = this.#policy;
    return this.#freed >= Math.min(maxBytes, Math.max(minBytes, ratio * this.#liveBytes()));
  }

  #maybeStart(): void {
    const compact = this.#compact;
    if (compact === undefined || this.#stopped || this.#running !== undefined || !this.#due()) return;
    this.#freed = 0;
    this.#running = compact()
      .catch(() => {
        this.#failures++;
      })
      .finally(() => {
        this.#runs++;
        this.#running = undefined;
        // bytes freed meanwhile: start again at once if they are enough already
        this.#maybeStart();
      });
  }
}

/** Total bytes of the files directly in `dir` (a LevelDB directory is flat). 0 if unreadable. */
export async function directoryBytes(dir: string): Promise<number> {
  try {
    const names = await readdir(dir);
    const sizes = await Promise.all(names.map((name) => stat(join(dir, name)).then((s) => (s.isFile() ? s.size : 0), () => 0)));
    return sizes.reduce((a, b) => a + b, 0);
  } catch {
    return 0;
  }
}
