/**
 * The state store's server clock (docs/reference/state-store-protocol.md §3.1, §3.2). HLC values and their
 * text are in `src/shared/hlc-text.ts`.
 */
import type { Hlc } from '../../shared/hlc-text.js';
import { MAX_CLOCK_SKEW_MS } from './constants.js';

/** Counters stay below 2^31 (.NET parses them as Int32). */
const MAX_COUNTER = 2 ** 31 - 1;

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
