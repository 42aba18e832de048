/**
 * `ops broker logs`: the instance's broker.log as readable lines (or its raw JSON lines with
 * `-o json`), filtered by level and time, the last N only, and followed as it grows. It reads the
 * file only (the broker may run or not) and in bounded memory however large the log is.
 */
import type { FileHandle } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { OpsError } from '../../../shared/errors.js';
import type { CliContext } from '../../context.js';
import { findInstance } from '../../lib/instance.js';
import { fileIdentity, LineSplitter, openIfExists, readLinesFrom, startOfLastLines } from '../../lib/log-file.js';
import { formatLogLine, LOG_LEVEL_NUMBERS, parseLogLine, passes, type LogFilter } from '../../lib/log-format.js';

/** How often a followed log is looked at for new lines, a truncation or a replacement. */
export const FOLLOW_POLL_MS = 200;

/** Inputs of `ops broker logs` (the flags as given). */
export interface LogsInput {
  readonly instance: string;
  readonly follow: boolean;
  readonly level?: string;
  readonly since?: string;
  readonly tail?: string;
  /** `json`: the raw JSON lines; anything else: readable lines. */
  readonly output?: string;
  /** Ends a follow (SIGINT/SIGTERM); the command then returns normally. */
  readonly signal?: AbortSignal;
}

/** Parses `--level` into pino's number. */
export function minLevelOf(level: string | undefined): number {
  if (level === undefined) return 0;
  const value = LOG_LEVEL_NUMBERS[level.toLowerCase()];
  if (value === undefined) {
    throw new OpsError('CLI_USAGE', { message: `Invalid --level '${level}': use one of ${Object.keys(LOG_LEVEL_NUMBERS).join(', ')}.` });
  }
  return value;
}

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `--since`: a duration back from `now` (`30s`, `10m`, `2h`, `1d`) or a date/time (ISO 8601). */
export function sinceOf(since: string | undefined, now = Date.now()): number | undefined {
  if (since === undefined) return undefined;
  const relative = /^(\d+)([smhd])$/.exec(since.trim());
  if (relative !== null) return now - Number(relative[1]) * (UNIT_MS[relative[2] as string] as number);
  const at = Date.parse(since);
  if (Number.isNaN(at)) {
    throw new OpsError('CLI_USAGE', { message: `Invalid --since '${since}': give a duration (30s, 10m, 2h, 1d) or a date/time (2026-12-07T15:00:00Z).` });
  }
  return at;
}

/** Parses `-n/--tail`. */
export function tailOf(tail: string | undefined): number | undefined {
  if (tail === undefined) return undefined;
  if (!/^\d+$/.test(tail) || !Number.isSafeInteger(Number(tail))) {
    throw new OpsError('CLI_USAGE', { message: `Invalid --tail '${tail}': give a number of lines (0 or more).` });
  }
  return Number(tail);
}

/** Runs `ops broker logs`. */
export async function runLogs(input: LogsInput, ctx: CliContext): Promise<void> {
  const filter: LogFilter = { minLevel: minLevelOf(input.level), ...definedSince(sinceOf(input.since)) };
  const tail = tailOf(input.tail);
  const paths = await findInstance(ctx, input.instance);
  const raw = input.output === 'json';
  const out = ctx.stdout;
  let open = true;
  /** Lines of the chunk being read, written together (one write per chunk, not per line). */
  let batch: string[] = [];
  const emit = (text: string): void => {
    const line = parseLogLine(text);
    if (text.length === 0 || !passes(line, filter)) return;
    batch.push(raw ? (line.kind === 'record' ? text : JSON.stringify({ raw: text })) : formatLogLine(line, ctx.chalk), '\n');
  };
  /** Writes the batch; false when stdout is closed (a reader of the pipe went away). */
  const writeBatch = async (): Promise<boolean> => {
    if (batch.length === 0) return open;
    out.write(batch.join(''));
    batch = [];
    return out.drain === undefined ? true : out.drain();
  };
  /** Reads to the end of the file, pausing whenever stdout pushes back; false when stdout closed. */
  const readOn = async (handle: FileHandle, from: number, splitter: LineSplitter): Promise<number> => {
    let position = from;
    for (;;) {
      const next = await readLinesFrom(handle, position, splitter, emit, 1);
      open = await writeBatch();
      if (next === position || !open) return next;
      position = next;
    }
  };

  let handle = await openIfExists(paths.log);
  let splitter = new LineSplitter();
  let offset = 0;
  try {
    if (handle !== undefined) {
      const { size } = await handle.stat();
      const start = tail === undefined ? 0 : await startOfLastLines(handle, size, tail, (text) => passes(parseLogLine(text), filter));
      offset = await readOn(handle, start, splitter);
    }
    if (!input.follow) {
      splitter.flush(emit);
      await writeBatch();
      return;
    }
    const signal = input.signal;
    const stopped = (): boolean => signal?.aborted === true;
    while (open && !stopped()) {
      await delay(FOLLOW_POLL_MS, undefined, signal === undefined ? {} : { signal }).catch(() => undefined);
      if (stopped()) break;
      const now = await fileIdentity(paths.log);
      if (now === undefined) continue; // removed (rotated away): wait for the new file
      if (handle !== undefined) {
        const mine = await handle.stat();
        if (mine.ino !== now.ino || mine.dev !== now.dev) {
          // Replaced (rotation): finish the old file, then read the new one from its start.
          offset = await readOn(handle, offset, splitter);
          splitter.flush(emit);
          open = await writeBatch();
          await handle.close();
          handle = undefined;
        } else if (now.size < offset) {
          ctx.stderr.write(`ops: ${paths.log} was truncated; reading it again from the start\n`);
          splitter = new LineSplitter();
          offset = 0;
        }
      }
      if (handle === undefined) {
        handle = await openIfExists(paths.log);
        if (handle === undefined) continue;
        splitter = new LineSplitter();
        offset = 0;
      }
      offset = await readOn(handle, offset, splitter);
    }
  } finally {
    await handle?.close();
  }
}

function definedSince(since: number | undefined): { since?: number } {
  return since === undefined ? {} : { since };
}
