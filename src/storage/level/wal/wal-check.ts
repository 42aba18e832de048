/**
 * Checks a LevelDB store's write-ahead log before LevelDB replays it (LevelDB, without
 * `paranoid_checks`, skips damaged log records silently and then deletes the log): reads every
 * `NNNNNN.log` of the directory (nothing is written) with {@link readLog} and compares what would
 * be replayed with the acknowledged mark (acked-mark-file.ts).
 *
 * What is found:
 * - damage inside a log (a checksum mismatch: a flipped bit; a bad length; zero bytes; a missing
 *   fragment), followed by records LevelDB would still replay: a crash only ever cuts the end of
 *   the last log (batches are written one at a time, synced, and a log is never appended to after
 *   a restart), so this is damage, and the batches between the commit marks around it are lost;
 * - a log whose last replayed batch is older than the acknowledged mark: its end was cut or
 *   damaged, and the batches after it are lost (also found after open, from the store's own
 *   `meta/commit`, when no log holds a batch at all);
 * - the acknowledged-mark file damaged, or missing from a store whose batches carry marks.
 *
 * What is not: an end cut inside the batches acknowledged after the last update of the mark
 * file before a crash (a few milliseconds; exact after a clean close); damage to LevelDB's table
 * files (`.ldb`), which the record checks at read time and the MANIFEST check at open cover.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ACKED_MARK_FILE, type AckedMarkState } from './acked-mark-file.js';
import type { CommitMark } from './commit-mark.js';
import { readLog } from './log-reader.js';
import { liveLogs } from './manifest.js';
import type { WalFinding } from '../../../shared/store-repair.js';
import { summarizeBatch, WriteBatchFormatError } from './write-batch.js';

/** What was lost, as far as the commit marks tell (null: not known). */
export interface WalLoss {
  /** Batches (group commits) acknowledged or written and not replayed. */
  readonly batches: number | null;
  /** Queue entries (queued messages) those batches put; some may have been delivered and acknowledged since. */
  readonly messages: number | null;
}

/** The outcome of the check. */
export interface WalCheck {
  readonly findings: readonly WalFinding[];
  readonly loss: WalLoss;
  /** The newest commit mark the logs replay; undefined when no log holds a marked batch. */
  readonly lastReplayed: CommitMark | undefined;
  readonly acked: AckedMarkState;
}

/** A replayed batch or a skipped range, in replay order. */
type Step = { readonly kind: 'batch'; readonly mark: CommitMark | undefined } | ({ readonly kind: 'drop' } & WalFinding);

const LOG_FILE = /^(\d+)\.log$/;

const logNumber = (name: string): number => Number(LOG_FILE.exec(name)?.[1]);

/**
 * The `NNNNNN.log` files of `dir` that LevelDB replays (per its MANIFEST; all of them when it
 * cannot be read), oldest first, the order of replay.
 */
async function logFiles(dir: string): Promise<string[]> {
  const live = await liveLogs(dir);
  const names = (await readdir(dir)).filter((name) => {
    if (!LOG_FILE.test(name)) return false;
    const n = logNumber(name);
    return live === undefined || n >= live.logNumber || n === live.prevLogNumber;
  });
  return names.sort((a, b) => logNumber(a) - logNumber(b));
}

/** The steps of every log replayed, and the newest log's name. */
async function replaySteps(dir: string): Promise<{ steps: Step[]; lastFile: string | undefined }> {
  const steps: Step[] = [];
  let lastFile: string | undefined;
  for (const file of await logFiles(dir)) {
    lastFile = file;
    const { records, drops } = readLog(await readFile(join(dir, file)));
    const events: Array<{ offset: number; step: Step }> = drops.map((d) => ({ offset: d.offset, step: { kind: 'drop', file, offset: d.offset, bytes: d.bytes, reason: d.reason } }));
    for (const record of records) {
      try {
        events.push({ offset: record.offset, step: { kind: 'batch', mark: summarizeBatch(record.data).mark } });
      } catch (error) {
        if (!(error instanceof WriteBatchFormatError)) throw error;
        events.push({ offset: record.offset, step: { kind: 'drop', file, offset: record.offset, bytes: record.data.length, reason: `a batch that does not parse (${error.message})` } });
      }
    }
    events.sort((a, b) => a.offset - b.offset);
    for (const event of events) steps.push(event.step);
  }
  return { steps, lastFile };
}

const MISSING_ACKED: WalFinding = { file: ACKED_MARK_FILE, offset: 0, bytes: 0, reason: 'the acknowledged-mark file is missing from a store that has written batches' };

function add(a: number | null, b: number | null): number | null {
  return a === null || b === null ? null : a + b;
}

/** Reads the logs of the store at `dir` and compares them with `acked` (see the module comment). */
export async function checkWal(dir: string, acked: AckedMarkState): Promise<WalCheck> {
  const { steps, lastFile } = await replaySteps(dir);
  const findings: WalFinding[] = [];
  let loss: WalLoss = { batches: 0, messages: 0 };
  let before: CommitMark | undefined;
  let gap: WalFinding[] = [];
  let lastReplayed: CommitMark | undefined;
  for (const step of steps) {
    if (step.kind === 'drop') {
      gap.push({ file: step.file, offset: step.offset, bytes: step.bytes, reason: step.reason });
      continue;
    }
    const mark = step.mark;
    if (gap.length > 0) {
      // Records replay after skipped bytes: damage, not a crash's cut end.
      findings.push(...gap);
      gap = [];
      if (mark !== undefined) {
        const batches = before === undefined ? null : mark.batch - before.batch - 1;
        const messages = before === undefined ? null : mark.total - mark.entries - before.total;
        loss = { batches: add(loss.batches, batches), messages: add(loss.messages, messages) };
      } else {
        loss = { batches: null, messages: null };
      }
    }
    if (mark !== undefined) {
      before = mark;
      if (lastReplayed === undefined || mark.batch > lastReplayed.batch) lastReplayed = mark;
    }
  }
  if (acked.kind === 'absent' && lastReplayed !== undefined) {
    findings.push(MISSING_ACKED);
    loss = { batches: null, messages: null };
  }
  if (acked.kind === 'damaged') {
    findings.push({ file: ACKED_MARK_FILE, offset: 0, bytes: 0, reason: 'the acknowledged-mark file is damaged' });
    loss = { batches: null, messages: null }; // what was acknowledged is not known
  }
  if (acked.kind === 'valid' && lastReplayed !== undefined && acked.value.mark.batch > lastReplayed.batch) {
    findings.push(...tailFindings(gap, lastFile, acked.value.mark, lastReplayed));
    loss = addTail(loss, acked.value.mark, lastReplayed);
  }
  return { findings, loss, lastReplayed, acked };
}

/** The end of the logs is missing acknowledged batches: the skipped ranges there, and the end itself. */
function tailFindings(gap: readonly WalFinding[], lastFile: string | undefined, acked: CommitMark, replayed: CommitMark): WalFinding[] {
  const end: WalFinding = { file: lastFile ?? '(no log)', offset: 0, bytes: 0, reason: `the log ends at batch ${replayed.batch}, batch ${acked.batch} was acknowledged (its end was cut or damaged)` };
  return [...gap, end];
}

function addTail(loss: WalLoss, acked: CommitMark, replayed: CommitMark): WalLoss {
  return { batches: add(loss.batches, acked.batch - replayed.batch), messages: add(loss.messages, acked.total - replayed.total) };
}

/**
 * After LevelDB opened the store: when no log held a marked batch, compares the store's own
 * `meta/commit` (`stored`) with the acknowledged mark; adds what that finds to `check`.
 */
export function settleWal(check: WalCheck, stored: CommitMark): WalCheck {
  const { acked } = check;
  if (check.lastReplayed !== undefined) return check;
  if (acked.kind === 'absent') {
    if (stored.batch === 0) return check;
    return { ...check, findings: [...check.findings, MISSING_ACKED], loss: { batches: null, messages: null } };
  }
  if (acked.kind !== 'valid' || acked.value.mark.batch <= stored.batch) return check;
  const findings = [...check.findings, { file: '(the store)', offset: 0, bytes: 0, reason: `it ends at batch ${stored.batch}, batch ${acked.value.mark.batch} was acknowledged (the write-ahead log lost its records)` }];
  return { ...check, findings, loss: addTail(check.loss, acked.value.mark, stored) };
}
