/**
 * The report of a store start with `--repair` (`ops broker start|run --repair`): what the
 * write-ahead log check found damaged and what was lost. Made by the storage layer, written by
 * the broker into status.json and its log, printed by the CLI.
 */

/** Damage found in the store's write-ahead log. */
export interface WalFinding {
  /** The log file's name in the store directory (or the acknowledged-mark file's, or `(the store)`). */
  readonly file: string;
  readonly offset: number;
  /** Bytes LevelDB skips there (0: not a byte range). */
  readonly bytes: number;
  readonly reason: string;
}

/** What a start with `repair` found and lost. */
export interface StoreRepairReport {
  /** Whether anything was damaged (false: the store was sound, nothing was lost). */
  readonly repaired: boolean;
  /** The damage found: file, byte offset, bytes skipped, why. */
  readonly findings: readonly WalFinding[];
  /** Write batches lost (acknowledged, or written and not replayed); null: not known. */
  readonly lostBatches: number | null;
  /**
   * Queue entries (queued messages) put by those batches; null: not known. Some may have been
   * delivered and acknowledged before the damage.
   */
  readonly lostMessages: number | null;
  /** The last batch known acknowledged before the start (0: not known). */
  readonly acknowledgedBatch: number;
  /** The last batch the store holds after the repair. */
  readonly survivingBatch: number;
}

/** One finding as text: `000005.log at byte 40213: checksum mismatch (31234 bytes skipped)`. */
export function describeFinding(finding: WalFinding): string {
  const where = finding.bytes > 0 ? `${finding.file} at byte ${finding.offset}` : finding.file;
  return `${where}: ${finding.reason}${finding.bytes > 0 ? ` (${finding.bytes} bytes skipped)` : ''}`;
}

/** What was lost, as text. */
export function describeLoss(report: Pick<StoreRepairReport, 'lostBatches' | 'lostMessages'>): string {
  if (report.lostBatches === null) return 'an unknown number of write batches';
  return `${report.lostBatches} write batch(es) with ${report.lostMessages ?? 'an unknown number of'} queued message(s)`;
}
