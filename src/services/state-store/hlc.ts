/**
 * Hybrid logical clock (docs/state-store-protocol.md §3.1, §3.2): `wall:counter:node`, emitted
 * padded (`%015d:%05d:%s`), parsed padded or not, ordered by wall, counter, then node id.
 */
import { MAX_CLOCK_SKEW_MS } from './constants.js';

/** One HLC value. */
export interface Hlc {
  /** Milliseconds since the Unix epoch. */
  readonly wall: number;
  readonly counter: number;
  readonly node: string;
}

/** Counters stay below 2^31 (.NET parses them as Int32). */
const MAX_COUNTER = 2 ** 31 - 1;

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

/** Whether `h` is more than the allowed skew (60 s) ahead of `now`. */
export function isTooFarAhead(h: Hlc, now: number): boolean {
  return h.wall - now > MAX_CLOCK_SKEW_MS;
}

/** The server clock: one HLC advanced for every version it hands out. */
export class HybridClock {
  readonly node: string;
  readonly #now: () => number;
  #wall = 0;
  #counter = 0;

  /** `node` must be non-empty and contain no `:`. */
  constructor(node: string, now: () => number = Date.now) {
    if (node.length === 0 || node.includes(':')) throw new RangeError(`invalid HLC node id ${node}`);
    this.node = node;
    this.#now = now;
  }

  /** The current value (without advancing). */
  get current(): Hlc {
    return { wall: this.#wall, counter: this.#counter, node: this.node };
  }

  /** Moves the clock up to `seen` (a restored version) without handing out a version. */
  observe(seen: Hlc): void {
    if (seen.wall > this.#wall || (seen.wall === this.#wall && seen.counter > this.#counter)) {
      this.#wall = seen.wall;
      this.#counter = Math.min(seen.counter, MAX_COUNTER);
    }
  }

  /** Advances the clock past `remote` (a request `__ts`, if any) and the wall clock; returns the new version. */
  next(remote?: Hlc): Hlc {
    const now = this.#now();
    const rWall = remote?.wall ?? -1;
    const rCounter = remote?.counter ?? 0;
    if (now > this.#wall && now > rWall) {
      this.#wall = now;
      this.#counter = 0;
    } else if (this.#wall === rWall) {
      this.#counter = Math.max(this.#counter, rCounter) + 1;
    } else if (this.#wall > rWall) {
      this.#counter += 1;
    } else {
      this.#wall = rWall;
      this.#counter = rCounter + 1;
    }
    if (this.#counter > MAX_COUNTER) {
      // Practically unreachable: move to the next millisecond rather than overflow .NET's Int32.
      this.#wall += 1;
      this.#counter = 0;
    }
    return this.current;
  }
}
