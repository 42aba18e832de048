/**
 * Nesting and size bounds of config input: a document nested 200,000 deep is
 * CFG_PARSE_FAILED with its line and column (not a stack overflow reported as CLI_INTERNAL), a deep
 * value that did not come from a file (an admin request) is a schema problem with its path, and a
 * listener with 200,000 ports is refused.
 */
import { describe, expect, it } from 'vitest';
import { findTooDeepText, findTooDeepValue, MAX_CONFIG_DEPTH } from '../../../src/config/json-depth.js';
import { findJsonSyntaxError } from '../../../src/config/json-location.js';
import { parseConfigText } from '../../../src/config/read-file.js';
import { assertValid, findIssues } from '../../../src/config/validate.js';
import { OpsError } from '../../../src/shared/errors.js';

const HOSTILE_DEPTH = 200_000;
const nestedArrays = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;
/** A listener whose first port's `tls` is `depth` nested arrays. */
const deepListenerText = (depth: number): string => `{"ports":[{"port":1,"tls":${nestedArrays(depth)}}]}`;

const parseError = (text: string): OpsError => {
  try {
    parseConfigText(text, 'deep.json');
  } catch (err) {
    if (err instanceof OpsError) return err;
    throw err;
  }
  throw new Error('expected CFG_PARSE_FAILED');
};

describe('config nesting bound', () => {
  it(`a listener nested ${HOSTILE_DEPTH} deep is CFG_PARSE_FAILED at the bracket that goes past ${MAX_CONFIG_DEPTH} levels`, () => {
    const err = parseError(deepListenerText(HOSTILE_DEPTH));
    expect(err.code).toBe('CFG_PARSE_FAILED');
    // levels: the document 1, ports 2, the port 3, then tls's arrays; the 62nd array is level 65
    const offset = '{"ports":[{"port":1,"tls":'.length + (MAX_CONFIG_DEPTH - 3);
    expect(err.message).toBe(`deep.json is not valid JSON: objects and arrays nested deeper than ${MAX_CONFIG_DEPTH} levels (line 1, column ${offset + 1}).`);
  });

  it('a broken text nested that deep is CFG_PARSE_FAILED too, and the syntax locator alone does not overflow', () => {
    const broken = `{"a":${'['.repeat(HOSTILE_DEPTH)}`;
    expect(parseError(broken).code).toBe('CFG_PARSE_FAILED');
    expect(findJsonSyntaxError(broken)?.reason).toBe(`objects and arrays nested deeper than ${MAX_CONFIG_DEPTH} levels`);
  });

  it(`accepts exactly ${MAX_CONFIG_DEPTH} levels and refuses ${MAX_CONFIG_DEPTH + 1}; brackets inside strings do not count`, () => {
    expect(findTooDeepText(nestedArrays(MAX_CONFIG_DEPTH))).toBeUndefined();
    expect(findTooDeepText(nestedArrays(MAX_CONFIG_DEPTH + 1))).toBe(MAX_CONFIG_DEPTH);
    expect(findTooDeepText(`["${'['.repeat(1000)}\\"${'{'.repeat(1000)}"]`)).toBeUndefined();
    expect(() => parseConfigText(`{"x":"${'['.repeat(1000)}"}`, 'f.json')).not.toThrow();
  });

  it('a deep value from an admin request is a schema problem naming its path, before the schema validator recurses', () => {
    let value: unknown = 1;
    for (let i = 0; i < HOSTILE_DEPTH; i++) value = [value];
    const props = { ports: [{ port: 1, tls: value }] };
    const pointer = findTooDeepValue(props);
    expect(pointer).toBe(`/ports/0/tls${'/0'.repeat(MAX_CONFIG_DEPTH - 3)}`);
    const issues = findIssues('listener', props);
    expect(issues).toEqual([{ path: `ports[0].tls${'[0]'.repeat(MAX_CONFIG_DEPTH - 3)}`, message: `is nested deeper than ${MAX_CONFIG_DEPTH} levels of objects and arrays` }]);
    expect(() => assertValid('listener', props, 'the request')).toThrow(/CFG_SCHEMA_INVALID|is not a valid BrokerListener config/);
  });
});

describe('listener ports bound', () => {
  const ports = (n: number) => Array.from({ length: n }, (_, i) => ({ port: 1000 + (i % 60_000) }));

  it('refuses a listener with 200,000 ports, naming the bound', () => {
    expect(findIssues('listener', { ports: ports(200_000) })).toEqual([{ path: 'ports', message: 'must have at most 64 item(s)' }]);
  });

  it('accepts 64 ports and refuses 65', () => {
    expect(findIssues('listener', { ports: ports(64) })).toEqual([]);
    expect(findIssues('listener', { ports: ports(65) })).toEqual([{ path: 'ports', message: 'must have at most 64 item(s)' }]);
  });
});
