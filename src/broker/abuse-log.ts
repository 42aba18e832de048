/**
 * Warnings about abuse (connection floods, huge CONNECTs) without a log flood: at most one line
 * per kind every {@link ABUSE_LOG_INTERVAL_MS}, saying how many more were refused in between.
 */
import type { Logger } from '../shared/log.js';

/** At most one warning per kind per this interval. */
export const ABUSE_LOG_INTERVAL_MS = 10_000;

interface Throttle {
  last: number;
  suppressed: number;
}

const throttles = new WeakMap<Logger, Map<string, Throttle>>();

/**
 * Logs `message` at warn with `fields`, unless one of the same `kind` was logged less than the
 * interval ago (then it is counted, and the next line carries `suppressed`).
 */
export function warnAbuse(logger: Logger, kind: string, fields: Record<string, unknown>, message: string, now = Date.now()): void {
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
  logger.warn({ ...fields, ...(suppressed > 0 ? { suppressed } : {}) }, message);
}
