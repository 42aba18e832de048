/**
 * Hybrid logical clock strings of the state store (state-store-protocol.md §3.1):
 * `{wallClockMs}:{counter}:{nodeId}`, written zero-padded to 15 and 5 digits as the SDKs do.
 */

/** One HLC value. */
export interface Hlc {
  readonly wallMs: number;
  readonly counter: number;
  readonly nodeId: string;
}

/** `001696374425000:00001:node` (padded, as the SDKs write it). */
export function formatHlc(hlc: Hlc): string {
  return `${String(hlc.wallMs).padStart(15, '0')}:${String(hlc.counter).padStart(5, '0')}:${hlc.nodeId}`;
}

/** Parses padded or unpadded HLC text; undefined when it is not three `:`-separated fields. */
export function parseHlc(text: string): Hlc | undefined {
  const parts = text.split(':');
  if (parts.length !== 3) return undefined;
  const [wall = '', counter = '', nodeId = ''] = parts;
  if (!/^[0-9]+$/.test(wall) || !/^[0-9]+$/.test(counter) || nodeId === '') return undefined;
  const hlc = { wallMs: Number(wall), counter: Number(counter), nodeId };
  return Number.isSafeInteger(hlc.wallMs) && Number.isSafeInteger(hlc.counter) ? hlc : undefined;
}

/** Orders by wall clock, then counter, then node id (ordinal). */
export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  return a.nodeId === b.nodeId ? 0 : a.nodeId < b.nodeId ? -1 : 1;
}

/** The wall clock of an HLC as an ISO date, or undefined when the text is not an HLC. */
export function hlcTime(text: string): string | undefined {
  const hlc = parseHlc(text);
  return hlc === undefined ? undefined : new Date(hlc.wallMs).toISOString();
}

/** A client's clock: strictly increasing `__ts` values that also move past every version seen. */
export class ClientClock {
  #last: Hlc;

  constructor(
    readonly nodeId: string,
    private readonly now: () => number = Date.now,
  ) {
    this.#last = { wallMs: 0, counter: 0, nodeId };
  }

  /** The next timestamp to send. */
  next(): string {
    const wall = this.now();
    this.#last =
      wall > this.#last.wallMs ? { wallMs: wall, counter: 0, nodeId: this.nodeId } : { wallMs: this.#last.wallMs, counter: this.#last.counter + 1, nodeId: this.nodeId };
    return formatHlc(this.#last);
  }

  /** Takes in a version received from the server (ignored when malformed). */
  observe(text: string | undefined): void {
    const seen = text === undefined ? undefined : parseHlc(text);
    if (seen && compareHlc({ ...seen, nodeId: this.nodeId }, this.#last) > 0) this.#last = { ...seen, nodeId: this.nodeId };
  }
}
