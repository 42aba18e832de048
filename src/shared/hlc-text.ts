/**
 * Hybrid logical clock text of the state store (docs/reference/state-store-protocol.md §3.1): `wall:counter:node`,
 * written padded (`%015d:%05d:%s`) as the SDKs do, parsed padded or not, ordered by wall, counter,
 * then node id. Shared by the state store service and the `ops state` client.
 */

/** One HLC value. */
export interface Hlc {
  /** Milliseconds since the Unix epoch. */
  readonly wall: number;
  readonly counter: number;
  readonly node: string;
}

/** The decimal digits of `text` from `start` to `end` (non-empty, digits only) as a safe integer, else -1. */
function decimal(text: string, start: number, end: number): number {
  if (end <= start) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    value = value * 10 + c;
  }
  return Number.isSafeInteger(value) ? value : -1;
}

/** Parses an HLC string; `undefined` when it is not exactly three valid `:`-separated fields. */
export function parseHlc(text: string): Hlc | undefined {
  const first = text.indexOf(':');
  if (first < 0) return undefined;
  const second = text.indexOf(':', first + 1);
  if (second < 0 || second + 1 >= text.length || text.indexOf(':', second + 1) >= 0) return undefined;
  const wall = decimal(text, 0, first);
  const counter = decimal(text, first + 1, second);
  if (wall < 0 || counter < 0) return undefined;
  return { wall, counter, node: text.slice(second + 1) };
}

/** Formats an HLC the way the SDKs do: wall padded to 15 digits, counter to 5. */
export function formatHlc(h: Hlc): string {
  return `${String(h.wall).padStart(15, '0')}:${String(h.counter).padStart(5, '0')}:${h.node}`;
}

/** Negative when a < b, 0 when equal, positive when a > b. */
export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}
