/**
 * Segment compaction. A queue segment holds the entries one batch wrote, for every session; it
 * stays on disk (and charged against `maxSize`) until its last live entry is gone. A persistent
 * session that stays offline would so keep alive the whole segments it shares with sessions
 * drained long ago. The rewriter reads such sparse segments and has the next batch move their
 * live entries into its own new segment (same records, new entry keys, old keys and the old
 * segment deleted, all in that one atomic batch: see SegmentBatcher).
 */
import type { SegmentContents } from './segment-codec.js';
import type { SegmentIndex } from './segment-index.js';

/** When sparse segments are rewritten. */
export interface SegmentRewritePolicy {
  /** A segment is sparse when its live entries are at most this share of all the entries it holds. */
  readonly maxLiveRatio: number;
  /**
   * How often sparse segments are looked for, in ms; a segment is rewritten once it was sparse at
   * two looks in a row (a queue being drained right now is left to drain). 0: no timer, only
   * {@link SegmentRewriter.rewriteNow}.
   */
  readonly intervalMs: number;
  /** Segment bytes read for one batch at the most (at least one segment is). */
  readonly maxRoundBytes: number;
}

/** Half-empty segments, looked for every 10 s, up to 8 MiB of segments per batch. */
export const DEFAULT_SEGMENT_REWRITE_POLICY: SegmentRewritePolicy = { maxLiveRatio: 0.5, intervalMs: 10_000, maxRoundBytes: 8 * 1024 * 1024 };

/** A segment read (opened, authenticated and decoded) for rewriting. */
export interface LoadedSegment {
  readonly id: number;
  readonly contents: SegmentContents;
  /** Its stored size. */
  readonly bytes: number;
}

/** What segment compaction did so far. */
export interface SegmentRewriteStats {
  /** Sparse segments whose live entries were moved (and which were deleted). */
  readonly segments: number;
  /** Entries moved. */
  readonly entries: number;
  /** Segments that could not be read (reported again, as STO_CORRUPT_RECORD, by a restore). */
  readonly failures: number;
}

/** What the rewriter works with. */
export interface SegmentRewriterParts {
  readonly index: SegmentIndex;
  /** Reads segment `id`; undefined when it is gone. Rejects when it cannot be read or is not authentic. */
  readonly load: (id: number) => Promise<LoadedSegment | undefined>;
  /** Has a batch taken and written (the batch takes the segments read, see {@link SegmentRewriter.take}). */
  readonly commit: () => Promise<void>;
  /** Whether a restore is reading segments now (no entry may move then). */
  readonly busy: () => boolean;
}

const NONE: readonly LoadedSegment[] = [];

/** Segments held for the next batch at the most (a bound when many tiny segments are sparse). */
const MAX_READY_SEGMENTS = 1024;

/** Finds sparse segments, reads them, and hands them to the next batch. */
export class SegmentRewriter {
  readonly #parts: SegmentRewriterParts;
  readonly #policy: SegmentRewritePolicy;
  #ready: LoadedSegment[] = [];
  #previous = new Set<number>();
  #running: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #segments = 0;
  #entries = 0;
  #failures = 0;

  constructor(parts: SegmentRewriterParts, policy: SegmentRewritePolicy = DEFAULT_SEGMENT_REWRITE_POLICY) {
    this.#parts = parts;
    this.#policy = policy;
  }

  /** What the rewriter did so far. */
  get stats(): SegmentRewriteStats {
    return { segments: this.#segments, entries: this.#entries, failures: this.#failures };
  }

  /** Starts looking for sparse segments every `intervalMs` (the timer does not keep the process alive). */
  start(): void {
    if (this.#policy.intervalMs <= 0 || this.#timer !== undefined || this.#stopped) return;
    this.#timer = setInterval(() => this.#look(), this.#policy.intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and lets a running rewrite finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    while (this.#running !== undefined) await this.#running;
  }

  /** Rewrites every segment sparse now, without waiting for a second look; resolves when they are written. */
  async rewriteNow(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
    await this.#start(this.#parts.index.sparse(this.#policy.maxLiveRatio));
  }

  /**
   * For the batch being taken: the segments read and not yet moved, unless a restore is reading
   * segments (then they wait for a later batch). Their entries still placed in them move.
   */
  take(): readonly LoadedSegment[] {
    if (this.#ready.length === 0 || this.#parts.busy()) return NONE;
    const ready = this.#ready;
    this.#ready = [];
    return ready;
  }

  /** The batch moved `entries` entries out of `segments` segments. */
  moved(segments: number, entries: number): void {
    this.#segments += segments;
    this.#entries += entries;
  }

  #look(): void {
    const sparse = this.#parts.index.sparse(this.#policy.maxLiveRatio);
    const due = sparse.filter((id) => this.#previous.has(id));
    this.#previous = new Set(sparse);
    if (due.length > 0 && this.#running === undefined) void this.#start(due);
  }

  #start(ids: readonly number[]): Promise<void> {
    const running = this.#rewrite(ids).finally(() => {
      this.#running = undefined;
    });
    this.#running = running;
    return running;
  }

  /** Reads the segments round by round (up to `maxRoundBytes` each) and has a batch move them. */
  async #rewrite(ids: readonly number[]): Promise<void> {
    const { index, load, commit } = this.#parts;
    let next = 0;
    while (next < ids.length && !this.#stopped) {
      let bytes = 0;
      while (next < ids.length && (bytes === 0 || bytes < this.#policy.maxRoundBytes) && this.#ready.length < MAX_READY_SEGMENTS) {
        const id = ids[next++] as number;
        if (index.liveCount(id) === 0 || this.#ready.some((s) => s.id === id)) continue; // deleted meanwhile, or read already
        try {
          const segment = await load(id);
          if (segment === undefined || index.liveCount(id) === 0) continue;
          this.#ready.push(segment);
          bytes += segment.bytes;
        } catch {
          this.#failures++;
        }
      }
      if (this.#ready.length === 0) continue;
      try {
        await commit();
      } catch {
        return; // the batch failed: the store reports it to its writers; try again at a later look
      }
      if (this.#ready.length > 0) return; // a restore was reading: a later batch moves them
    }
  }
}
