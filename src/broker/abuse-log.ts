/**
 * Warnings about abuse (connection floods, huge CONNECTs, refused authentications) and contained
 * internal errors without a log flood: at most `linesPerInterval` lines (default one) per kind every
 * {@link ABUSE_LOG_INTERVAL_MS}, the next line saying how many more were suppressed in between.
 */
import type { Logger } from '../shared/log.js';

/** The interval of the per-kind line budget. */
export const ABUSE_LOG_INTERVAL_MS = 10_000;

interface Throttle {
  /** When the current interval began (the first line logged in it). */
  start: number;
  /** Lines logged in the current interval. */
  lines: number;
  suppressed: number;
}

const throttles = new WeakMap<Logger, Map<string, Throttle>>();

/**
 * Logs `message` at `level` with `fields`, unless `linesPerInterval` lines of the same `kind` were
 * logged in the current interval (then it is counted, and the next line carries `suppressed`).
 */
export function logRateLimited(
  logger: Logger,
  level: 'info' | 'warn' | 'error',
  kind: string,
  fields: Record<string, unknown>,
  message: string,
  now = Date.now(),
  linesPerInterval = 1,
): void {
  let byKind = throttles.get(logger);
  if (byKind === undefined) throttles.set(logger, (byKind = new Map()));
  let t = byKind.get(kind);
  if (t === undefined) byKind.set(kind, (t = { start: Number.NEGATIVE_INFINITY, lines: 0, suppressed: 0 }));
  if (now - t.start >= ABUSE_LOG_INTERVAL_MS) {
    t.start = now;
    t.lines = 0;
  }
  if (t.lines >= linesPerInterval) {
    t.suppressed++;
    return;
  }
  const suppressed = t.suppressed;
  t.lines++;
  t.suppressed = 0;
  logger[level]({ ...fields, ...(suppressed > 0 ? { suppressed } : {}) }, message);
}

/** {@link logRateLimited} at warn: abuse that was refused. */
export function warnAbuse(logger: Logger, kind: string, fields: Record<string, unknown>, message: string, now = Date.now(), linesPerInterval = 1): void {
  logRateLimited(logger, 'warn', kind, fields, message, now, linesPerInterval);
}
