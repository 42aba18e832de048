/**
 * The `ops state` client's clock and HLC display. HLC values and their text
 * (`{wallClockMs}:{counter}:{nodeId}`, docs/reference/state-store-protocol.md §3.1) are in `src/shared/hlc-text.ts`.
 */
import { compareHlc, formatHlc, parseHlc, type Hlc } from '../../../shared/hlc-text.js';

/** The wall clock of an HLC as an ISO date, or undefined when the text is not an HLC. */
export function hlcTime(text: string): string | undefined {
  const hlc = parseHlc(text);
  return hlc === undefined ? undefined : new Date(hlc.wall).toISOString();
}

/** A client's clock: strictly increasing `__ts` values that also move past every version seen. */
export class ClientClock {
  #last: Hlc;

  constructor(
    readonly nodeId: string,
    private readonly now: () => number = Date.now,
  ) {
    this.#last = { wall: 0, counter: 0, node: nodeId };
  }

  /** The next timestamp to send. */
  next(): string {
    const wall = this.now();
    this.#last = wall > this.#last.wall ? { wall, counter: 0, node: this.nodeId } : { wall: this.#last.wall, counter: this.#last.counter + 1, node: this.nodeId };
    return formatHlc(this.#last);
  }

  /** Takes in a version received from the server (ignored when malformed). */
  observe(text: string | undefined): void {
    const seen = text === undefined ? undefined : parseHlc(text);
    if (seen && compareHlc({ ...seen, node: this.nodeId }, this.#last) > 0) this.#last = { ...seen, node: this.nodeId };
  }
}
