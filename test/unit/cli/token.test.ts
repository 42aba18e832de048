import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAttributes, parseTtl } from '../../../src/cli/actions/broker/token.js';
import { inProcessOps } from '../../helpers/cli-in-process.js';

const run = inProcessOps(join(tmpdir(), 'ops-unit-never-created'));

describe('ops broker token create flags', () => {
  it('parses lifetimes', () => {
    expect(parseTtl('90')).toBe(90);
    expect(parseTtl('90s')).toBe(90);
    expect(parseTtl('15m')).toBe(900);
    expect(parseTtl('1h30m')).toBe(5400);
    expect(parseTtl('7d')).toBe(604_800);
    for (const bad of ['', '0', '1x', 'h', '-5', '1.5h', '366d']) expect(() => parseTtl(bad), bad).toThrow(/Invalid --ttl/);
  });

  it('parses attributes (the value may hold =)', () => {
    expect(parseAttributes(['group=sensors', 'expr=a=b', 'empty='])).toEqual({ group: 'sensors', expr: 'a=b', empty: '' });
    expect(() => parseAttributes(['=v'])).toThrow(/Invalid --attribute '=v': use key=value/);
    expect(() => parseAttributes(['novalue'])).toThrow(/use key=value/);
  });

  it('needs --audience and an existing instance', async () => {
    const missing = await run('broker', 'token', 'create');
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/required option '--audience <audiences...>' not specified/);
    const unknown = await run('broker', 'token', 'create', '--audience', 'a', '--instance', 'nope');
    expect(unknown.code).toBe(4);
    expect(unknown.err).toMatch(/Instance 'nope' does not exist/);
  });
});
