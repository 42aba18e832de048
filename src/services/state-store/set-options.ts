/** SET options `[NX | NEX] [PX ms]` in any order (docs/reference/state-store-protocol.md §2.2). */

/** Parsed SET options. */
export interface SetOptions {
  readonly condition: 'NX' | 'NEX' | undefined;
  /** Expiry in milliseconds. */
  readonly px: number | undefined;
}

const PX_VALUE = /^[1-9][0-9]*$/;

const NO_OPTIONS: SetOptions = { condition: undefined, px: undefined };

/** Parses the elements from `start` on (those after `SET key value`); `'syntax'` for anything malformed. */
export function parseSetOptions(args: readonly Buffer[], start = 0): SetOptions | 'syntax' {
  if (start >= args.length) return NO_OPTIONS;
  let condition: 'NX' | 'NEX' | undefined;
  let px: number | undefined;
  for (let i = start; i < args.length; i++) {
    const word = (args[i] as Buffer).toString('latin1');
    if (word === 'NX' || word === 'NEX') {
      if (condition !== undefined) return 'syntax';
      condition = word;
    } else if (word === 'PX') {
      const raw = args[i + 1];
      if (px !== undefined || raw === undefined) return 'syntax';
      const text = raw.toString('latin1');
      if (!PX_VALUE.test(text)) return 'syntax';
      const ms = Number(text);
      if (!Number.isSafeInteger(ms)) return 'syntax';
      px = ms;
      i++;
    } else {
      return 'syntax';
    }
  }
  return { condition, px };
}
