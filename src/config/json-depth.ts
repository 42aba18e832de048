/**
 * The nesting bound of config documents. No ops-broker config is more than a dozen levels deep, but
 * a hostile file can nest arrays 200,000 deep: `JSON.parse` copes, while recursive walkers (the
 * schema validator, the syntax-error locator, `JSON.stringify` of a reported value) overflow the
 * stack. Both checks here are iterative, so they are safe on any input, and run before those walkers.
 */

/** Deepest nesting of objects and arrays accepted in a config document (the top-level value is level 1). */
export const MAX_CONFIG_DEPTH = 64;

/**
 * The offset of the first `{` or `[` of `text` that opens level `max + 1`, or undefined when the
 * text never nests deeper than `max` (brackets inside strings do not count). The text need not be
 * valid JSON.
 */
export function findTooDeepText(text: string, max = MAX_CONFIG_DEPTH): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return i;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return undefined;
}

/**
 * The JSON pointer (`/ports/0/tls`) of the first object or array of `value` at level `max + 1`,
 * or undefined when it never nests deeper than `max`.
 */
export function findTooDeepValue(value: unknown, max = MAX_CONFIG_DEPTH): string | undefined {
  const stack: Array<{ node: unknown; pointer: string; depth: number }> = [{ node: value, pointer: '', depth: 1 }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const { node, pointer, depth } = top;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > max) return pointer;
    for (const [key, child] of Object.entries(node)) {
      if (typeof child === 'object' && child !== null) stack.push({ node: child, pointer: `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, depth: depth + 1 });
    }
  }
  return undefined;
}
