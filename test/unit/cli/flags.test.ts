import { describe, expect, it } from 'vitest';
import { flagGroups, intArg, portArg } from '../../../src/cli/lib/flags.js';
import { renderTable } from '../../../src/cli/lib/output.js';
import { toYaml } from '../../../src/cli/lib/yaml.js';
import { boolArg } from '../../../src/cli/option-builders.js';
import { persistArgsOf } from '../../../src/cli/actions/broker/persist.js';
import { connectPacket } from '../../../src/cli/lib/mqtt-probe.js';

describe('flagGroups (argparse nargs+ with append)', () => {
  it('gives one group per occurrence, stopping at the next option', () => {
    const argv = ['broker', 'persist', 'update', '--state-store-str-keys', 'a', 'b', '--state-store-glob-keys', 'x*', '--state-store-str-keys', 'c', '-o', 'json'];
    expect(flagGroups(argv, '--state-store-str-keys')).toEqual([['a', 'b'], ['c']]);
    expect(flagGroups(argv, '--state-store-glob-keys')).toEqual([['x*']]);
    expect(flagGroups(argv, '--state-store-bin-keys')).toEqual([]);
  });

  it('accepts --flag=value and values that look like negative numbers', () => {
    expect(flagGroups(['--k=v', '--k', '-1', 'two'], '--k')).toEqual([['v'], ['-1', 'two']]);
  });

  it('stops at --', () => {
    expect(flagGroups(['--k', 'a', '--', '--k', 'b'], '--k')).toEqual([['a']]);
  });
});

describe('scalar flags', () => {
  it('parses integers and ports', () => {
    expect(intArg('12')).toBe(12);
    expect(() => intArg('1.5')).toThrow("'1.5' is not an integer.");
    expect(portArg('0')).toBe(0);
    expect(() => portArg('70000')).toThrow('is not a port');
  });

  it('reads azure-cli three-state booleans', () => {
    expect(boolArg(undefined)).toBe(true);
    expect(boolArg('false')).toBe(false);
    expect(boolArg('Yes')).toBe(true);
    expect(() => boolArg('maybe')).toThrow('is not a boolean');
  });

  it('sends only the persist flags over the socket', () => {
    expect(persistArgsOf({ instance: 'i', name: 'default', output: 'json', persistMode: ['retain=All'], userKey: 'k', userValue: 'v' })).toEqual({
      persistMode: ['retain=All'],
      userKey: 'k',
      userValue: 'v',
    });
  });
});

describe('output', () => {
  it('renders YAML for nested resources', () => {
    expect(toYaml({ name: 'default', properties: { ports: [{ port: 1883, tls: null }], empty: [], topics: ['a/#', 'true'] }, n: 1 })).toBe(
      ['name: default', 'properties:', '  ports:', '    - port: 1883', '      tls: null', '  empty: []', '  topics:', '    - a/#', '    - "true"', 'n: 1', ''].join('\n'),
    );
  });

  it('renders an aligned table', () => {
    const text = renderTable([{ a: 'x', b: 'longer' }], [
      { header: 'A', get: (r) => r['a'] },
      { header: 'Bee', get: (r) => r['b'] },
    ]);
    expect(text).toBe('A  Bee\n-  ------\nx  longer\n');
  });
});

describe('readiness probe', () => {
  it('builds a valid MQTT 3.1.1 CONNECT', () => {
    const packet = connectPacket('ab');
    expect([...packet]).toEqual([0x10, 14, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 10, 0, 2, 0x61, 0x62]);
  });
});
