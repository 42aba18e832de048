/**
 * Warnings about abuse (connection floods, huge CONNECTs) and contained internal errors without a
 * log flood: at most one line per kind every {@link ABUSE_LOG_INTERVAL_MS}, saying how many more
 * happened in between.
 */
import type { Logger } from '../shared/log.js';

/** At most one line per kind per this interval. */
export const ABUSE_LOG_INTERVAL_MS = 10_000;

interface Throttle {
  last: number;
  suppressed: number;
}

const throttles = new WeakMap<Logger, Map<string, Throttle>>();

/**
 * Logs `message` at `level` with `fields`, unless one of the same `kind` was logged less than the
 * interval ago (then it is counted, and the next line carries `suppressed`).
 */
export function logRateLimited(
  logger: Logger,
  level: 'warn' | 'error',
  kind: string,
  fields: Record<string, unknown>,
  message: string,
  now = Date.now(),
): void {
  let byKind = throttles.get(logger);
  if (byKind === undefined) throttles.set(logger, (byKind = new Map()));
  let t = byKind.get(kind);
  if (t === undefined) byKind.set(kind, (t = { last: Number.NEGATIVE_INFINITY, suppressed: 0 }));
  if (now - t.last < ABUSE_LOG_INTERVAL_MS) {
    t.suppressed++;
    return;
  }
  const suppressed = t.suppressed;
  t.last = now;
  t.suppressed = 0;
  logger[level]({ ...fields, ...(suppressed > 0 ? { suppressed } : {}) }, message);
}

/** {@link logRateLimited} at warn: abuse that was refused. */
export function warnAbuse(logger: Logger, kind: string, fields: Record<string, unknown>, message: string, now = Date.now()): void {
  logRateLimited(logger, 'warn', kind, fields, message, now);
}
