/**
 * The write-ahead log guard of a {@link LevelBrokerStore}: the check before LevelDB opens the
 * store (wal-check.ts), the refusal (STO_LOG_DAMAGED) or, with `repair`, the report of what was
 * lost, and the store's commit numbering (commit-mark.ts) with its acknowledged mark
 * (acked-mark-file.ts) while it runs.
 */
import { OpsError } from '../../../shared/errors.js';
import { describeFinding, describeLoss, type StoreRepairReport } from '../../../shared/store-repair.js';
import { AckedMarkFile, readAckedMark } from './acked-mark-file.js';
import { CommitCounter, type CommitMark } from './commit-mark.js';
import { checkWal, settleWal, type WalCheck } from './wal-check.js';

/** STO_LOG_DAMAGED for `check`. */
export function logDamaged(path: string, check: WalCheck): OpsError {
  const shown = check.findings.slice(0, 3).map(describeFinding);
  if (check.findings.length > 3) shown.push(`and ${check.findings.length - 3} more`);
  return new OpsError('STO_LOG_DAMAGED', { path, damage: shown.join('; '), lost: `${describeLoss({ lostBatches: check.loss.batches, lostMessages: check.loss.messages })} would be lost` });
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

/** The report of a start with `repair`. */
function recoveryOf(check: WalCheck, stored: CommitMark): StoreRepairReport {
  const repaired = check.findings.length > 0;
  return {
    repaired,
    findings: check.findings,
    lostBatches: repaired ? check.loss.batches : 0,
    lostMessages: repaired ? check.loss.messages : 0,
    acknowledgedBatch: check.acked.kind === 'valid' ? check.acked.value.mark.batch : 0,
    survivingBatch: stored.batch,
  };
}

/** The guard of an open store. */
export interface OpenWal {
  readonly counter: CommitCounter;
  readonly acked: AckedMarkFile;
  /** With `repair`: what was found and lost. */
  readonly recovery: StoreRepairReport | undefined;
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
  return { counter: new CommitCounter(stored), acked, recovery: repair ? recoveryOf(check, stored) : undefined };
}
