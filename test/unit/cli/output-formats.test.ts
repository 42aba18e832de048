/** `-o tsv|none|jsonc|yamlc|table|json|yaml` and `--query`, through printValue with a captured context. */
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import type { CliContext } from '../../../src/cli/context.js';
import { printValue, type OutputFormat } from '../../../src/cli/lib/output.js';
import { compileQuery } from '../../../src/cli/lib/query.js';

const RESOURCE = {
  name: 'default',
  resourceGroup: 'rg',
  type: 'Microsoft.IoTOperations/instances/brokers',
  properties: { provisioningState: 'Succeeded', memoryProfile: 'Medium', cardinality: { frontend: { replicas: 2 } } },
  ports: [1883, 18883],
  enabled: true,
  note: null,
};

function print(value: unknown, format: OutputFormat, options: { query?: string; colour?: boolean } = {}): string {
  const out: string[] = [];
  const ctx: CliContext = {
    env: {},
    argv: [],
    stdout: { write: (t) => void out.push(t), isTTY: options.colour === true },
    stderr: { write: () => undefined, isTTY: false },
    interactive: false,
    chalk: new Chalk({ level: options.colour === true ? 1 : 0 }),
    home: '/nowhere',
    run: { onlyShowErrors: false, debug: false, ...(options.query === undefined ? {} : { query: compileQuery(options.query) }) },
  };
  printValue(ctx, value, format);
  return out.join('');
}

describe('-o tsv (azure-cli rules)', () => {
  it('prints an object as one row of its values by sorted key: nested object empty, list its length, booleans as az', () => {
    // keys sorted: enabled, name, note, ports, properties, resourceGroup, type
    expect(print(RESOURCE, 'tsv')).toBe('True\tdefault\t\t2\t\trg\tMicrosoft.IoTOperations/instances/brokers\n');
  });

  it('prints one row per item of a list, and scalars alone', () => {
    expect(print([{ b: 1, a: 'x' }, { b: 2, a: 'y' }], 'tsv')).toBe('x\t1\ny\t2\n');
    expect(print(['a', 'b'], 'tsv')).toBe('a\nb\n');
    expect(print('Medium', 'tsv')).toBe('Medium\n');
    expect(print([], 'tsv')).toBe('');
  });

  it('keeps the order a --query multiselect names', () => {
    expect(print([RESOURCE], 'tsv', { query: '[].{n: name, m: properties.memoryProfile, a: enabled}' })).toBe('default\tMedium\tTrue\n');
  });
});

describe('--query (JMESPath)', () => {
  it('applies to the JSON result before formatting', () => {
    expect(print(RESOURCE, 'json', { query: 'properties.memoryProfile' })).toBe('"Medium"\n');
    expect(print([RESOURCE, { ...RESOURCE, name: 'b' }], 'json', { query: "[?name=='b'].name | [0]" })).toBe('"b"\n');
    expect(print(RESOURCE, 'yaml', { query: 'ports' })).toBe(print([1883, 18883], 'yaml'));
  });

  it('a query with no match prints null, as az', () => {
    expect(print(RESOURCE, 'json', { query: 'missing' })).toBe('null\n');
  });

  it('makes -o table use the columns of the query result', () => {
    const table = print([RESOURCE], 'table', { query: '[].{name: name, profile: properties.memoryProfile}' });
    expect(table.split('\n')[0]).toMatch(/^Name\s+Profile$/);
    expect(table).toContain('default  Medium');
    expect(print(RESOURCE, 'table', { query: 'ports' }).split('\n')[0]).toBe('Result');
  });

  it('a runtime type error of the expression is a usage error naming it', () => {
    expect(() => print(RESOURCE, 'json', { query: 'length(enabled)' })).toThrow(/--query: 'length\(enabled\)' cannot be applied/);
  });
});

describe('-o none, jsonc, yamlc', () => {
  it('none prints nothing', () => {
    expect(print(RESOURCE, 'none')).toBe('');
  });

  it('jsonc and yamlc are json and yaml when there is no colour', () => {
    expect(print(RESOURCE, 'jsonc')).toBe(print(RESOURCE, 'json'));
    expect(print(RESOURCE, 'yamlc')).toBe(print(RESOURCE, 'yaml'));
    expect(print([], 'jsonc')).toBe('[]\n');
  });

  it('jsonc and yamlc colour keys and values on a terminal, with the same text under the colour', () => {
    const strip = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');
    const jsonc = print(RESOURCE, 'jsonc', { colour: true });
    expect(jsonc).toContain('\u001b[34m"name"\u001b[39m');
    expect(jsonc).toContain('\u001b[32m"default"\u001b[39m');
    expect(strip(jsonc)).toBe(print(RESOURCE, 'json'));
    const yamlc = print(RESOURCE, 'yamlc', { colour: true });
    expect(yamlc).toContain('\u001b[34mname\u001b[39m:');
    expect(strip(yamlc)).toBe(print(RESOURCE, 'yaml'));
  });
});
