/**
 * Finds where a JSON text is broken. `JSON.parse` on Node 20 does not always say where
 * ("Unexpected end of JSON input"), so this small scanner walks the text and reports the first
 * offending offset with a reason, turned into a 1-based line and column.
 */
import { MAX_CONFIG_DEPTH } from './json-depth.js';

/** Where and why a JSON text fails to parse. */
export interface JsonSyntaxError {
  readonly reason: string;
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

class Fail extends Error {
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {
    super(reason);
  }
}

/** Returns the first syntax error of `text`, or undefined when it is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  let i = 0;
  let depth = 0; // bounded: this scanner recurses once per level
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text.charAt(i))) i++;
  };
  const describe = (): string => (i >= text.length ? 'unexpected end of input' : `unexpected character ${JSON.stringify(text.charAt(i))}`);
  const expect = (ch: string, what: string): void => {
    if (text.charAt(i) !== ch) throw new Fail(`expected ${what} but found ${describe().replace('unexpected ', '')}`, i);
    i++;
  };
  const string = (): void => {
    expect('"', 'a string');
    for (;;) {
      if (i >= text.length) throw new Fail('unterminated string', i);
      const c = text.charAt(i);
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        const e = text.charAt(i + 1);
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) throw new Fail('bad \\u escape in string', i);
          i += 6;
        } else if ('"\\/bfnrt'.includes(e) && e !== '') i += 2;
        else throw new Fail('bad escape in string', i);
      } else if (c < ' ') throw new Fail('control character in string (escape it)', i);
      else i++;
    }
  };
  const number = (): void => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i));
    if (!m || m[0] === '' || m[0] === '-') throw new Fail(describe(), i);
    i += m[0].length;
  };
  /** The members of an object or the elements of an array, from its opening bracket to `close`. */
  const container = (close: '}' | ']', member: () => void): void => {
    if (++depth > MAX_CONFIG_DEPTH) throw new Fail(`objects and arrays nested deeper than ${MAX_CONFIG_DEPTH} levels`, i);
    i++;
    ws();
    if (text.charAt(i) === close) {
      i++;
      depth--;
      return;
    }
    for (;;) {
      ws();
      member();
      ws();
      if (text.charAt(i) === ',') {
        i++;
        ws();
        if (text.charAt(i) === close) throw new Fail(`trailing comma before ${close}`, i);
        continue;
      }
      expect(close, `',' or '${close}'`);
      depth--;
      return;
    }
  };
  const value = (): void => {
    ws();
    const c = text.charAt(i);
    if (c === '{') return container('}', () => {
      if (text.charAt(i) !== '"') throw new Fail(`expected a property name in double quotes but found ${describe().replace('unexpected ', '')}`, i);
      string();
      ws();
      expect(':', "':'");
      value();
    });
    if (c === '[') return container(']', value);
    if (c === '"') return string();
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    if (c === '-' || (c >= '0' && c <= '9')) return number();
    throw new Fail(describe(), i);
  };
  try {
    value();
    ws();
    if (i < text.length) throw new Fail(`unexpected ${JSON.stringify(text.charAt(i))} after the end of the JSON value`, i);
    return undefined;
  } catch (err) {
    if (!(err instanceof Fail)) throw err;
    return { reason: err.reason, offset: err.offset, ...lineColumn(text, err.offset) };
  }
}

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return { line, column };
}
