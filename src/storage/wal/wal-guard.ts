/**
 * The write-ahead log guard of a {@link LevelBrokerStore}: the check before LevelDB opens the
 * store (wal-check.ts), the refusal (STO_LOG_DAMAGED) or, with `repair`, the report of what was
 * lost, and the store's commit numbering (commit-mark.ts) with its acknowledged mark
 * (acked-mark-file.ts) while it runs.
 */
import { OpsError } from '../../shared/errors.js';
import { AckedMarkFile, readAckedMark } from './acked-mark-file.js';
import { CommitCounter, type CommitMark } from './commit-mark.js';
import { checkWal, settleWal, type WalCheck, type WalFinding } from './wal-check.js';

/** What a start with `repair` found damaged and lost (JSON for `ops broker start -o json`). */
export interface WalRecovery {
  /** The damage found: file, byte offset, bytes skipped, why. */
  readonly findings: readonly WalFinding[];
  /** Write batches lost (acknowledged, or written and not replayed); null: not known. */
  readonly lostBatches: number | null;
  /** Queue entries (queued messages) put by those batches; null: not known. Some may have been delivered and acknowledged since. */
  readonly lostMessages: number | null;
  /** The last batch known acknowledged before the start (0: not known). */
  readonly acknowledgedBatch: number;
  /** The last batch the store holds after the repair. */
  readonly survivingBatch: number;
}

/** One finding as text: `000005.log at byte 40213: checksum mismatch (31234 bytes skipped)`. */
function describe(finding: WalFinding): string {
  const where = finding.bytes > 0 ? `${finding.file} at byte ${finding.offset}` : finding.file;
  return `${where}: ${finding.reason}${finding.bytes > 0 ? ` (${finding.bytes} bytes skipped)` : ''}`;
}

function lostText(check: WalCheck): string {
  const { batches, messages } = check.loss;
  if (batches === null) return 'an unknown number of acknowledged writes would be lost';
  return `${batches} write batch(es) with ${messages ?? 'an unknown number of'} queued message(s) would be lost`;
}

/** STO_LOG_DAMAGED for `check`. */
export function logDamaged(path: string, check: WalCheck): OpsError {
  const shown = check.findings.slice(0, 3).map(describe);
  if (check.findings.length > 3) shown.push(`and ${check.findings.length - 3} more`);
  return new OpsError('STO_LOG_DAMAGED', { path, damage: shown.join('; '), lost: lostText(check) });
}

/** Reads the acknowledged mark and the logs of the store at `path` (nothing is written). */
export async function inspectWal(path: string): Promise<WalCheck> {
  const acked = await readAckedMark(path).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' } as const;
    throw error;
  });
  return checkWal(path, acked).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { findings: [], loss: { batches: 0, messages: 0 }, lastReplayed: undefined, acked };
    throw error;
  });
}

/** The report of a repair, or undefined when nothing was damaged. */
function recoveryOf(check: WalCheck, stored: CommitMark): WalRecovery | undefined {
  if (check.findings.length === 0) return undefined;
  return {
    findings: check.findings,
    lostBatches: check.loss.batches,
    lostMessages: check.loss.messages,
    acknowledgedBatch: check.acked.kind === 'valid' ? check.acked.value.mark.batch : 0,
    survivingBatch: stored.batch,
  };
}

/** The guard of an open store. */
export interface OpenWal {
  readonly counter: CommitCounter;
  readonly acked: AckedMarkFile;
  readonly recovery: WalRecovery | undefined;
}

/**
 * Once LevelDB opened the store (its `meta/commit` is `stored`): completes the check (refused
 * without `repair`: STO_LOG_DAMAGED), then starts the numbering after `stored` and writes the
 * acknowledged mark (reset to `stored` after a repair).
 */
export async function openWal(path: string, before: WalCheck, stored: CommitMark, repair: boolean): Promise<OpenWal> {
  const check = settleWal(before, stored);
  if (check.findings.length > 0 && !repair) throw logDamaged(path, check);
  const generation = check.acked.kind === 'valid' ? check.acked.value.generation : 0;
  const acked = await AckedMarkFile.open(path, generation, stored);
  return { counter: new CommitCounter(stored), acked, recovery: recoveryOf(check, stored) };
}
