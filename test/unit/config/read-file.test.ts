import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findJsonSyntaxError } from '../../../src/config/json-location.js';
import { loadConfigFile, parseConfigText, readConfigFile } from '../../../src/config/read-file.js';
import { OpsError } from '../../../src/shared/errors.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ops-cfg-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const codeOf = async (p: Promise<unknown>): Promise<OpsError> => {
  try {
    await p;
  } catch (err) {
    if (err instanceof OpsError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
};

describe('readConfigFile', () => {
  it('reports a missing file, a folder, and bad UTF-8 with the AIO messages', async () => {
    const missing = await codeOf(readConfigFile(join(dir, 'nope.json')));
    expect(missing.code).toBe('CFG_FILE_NOT_FOUND');
    expect(missing.message).toBe(`${join(dir, 'nope.json')} does not exist.`);
    await mkdir(join(dir, 'sub'));
    expect((await codeOf(readConfigFile(join(dir, 'sub')))).message).toBe(`${join(dir, 'sub')} is not a file.`);
    await writeFile(join(dir, 'bad.json'), Buffer.from([0x7b, 0xff, 0x7d]));
    expect((await codeOf(readConfigFile(join(dir, 'bad.json')))).message).toBe(`Failed to decode file ${join(dir, 'bad.json')}.`);
  });

  it('accepts a UTF-8 BOM and unwraps properties', async () => {
    await writeFile(join(dir, 'bom.json'), '\ufeff{"properties":{"memoryProfile":"Low"}}');
    expect(await loadConfigFile('broker', join(dir, 'bom.json'))).toEqual({ memoryProfile: 'Low' });
  });

  it('lists every problem in one report', async () => {
    await writeFile(join(dir, 'many.json'), '{"memoryProfile":"Huge","cardinality":{"backendChain":{"partitions":0,"redundancyFactor":2}}}');
    const err = await codeOf(loadConfigFile('broker', join(dir, 'many.json')));
    expect(err.code).toBe('CFG_SCHEMA_INVALID');
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('(3 problem(s))');
    expect(err.message).toContain('  - memoryProfile: must be one of');
    expect(err.message).toContain('  - cardinality.frontend: is required but missing');
    expect(err.message).toContain('  - cardinality.backendChain.partitions: must be >= 1 (got 0)');
  });
});

describe('broken JSON', () => {
  it('reports line and column of a trailing comma', () => {
    const text = '{\n  "a": {\n    "b": 1,\n  }\n}';
    expect(() => parseConfigText(text, 'f.json')).toThrow('f.json is not valid JSON: trailing comma before } (line 4, column 3).');
  });

  it.each([
    ['{"a": }', 1, 7],
    ['{"a": 1', 1, 8],
    ["{'a': 1}", 1, 2],
    ['{"a": 1} x', 1, 10],
    ['[1, 2,, 3]', 1, 7],
    ['{"a": "x\ny"}', 1, 9],
    ['', 1, 1],
  ])('locates the error in %j', (text, line, column) => {
    const where = findJsonSyntaxError(text);
    expect(where).toMatchObject({ line, column });
    expect(() => JSON.parse(text)).toThrow();
  });

  it('accepts what JSON.parse accepts', () => {
    for (const text of ['{}', '[]', '"\\u00e9\\n"', '-1.5e+3', '{"a":[true,false,null,{"b":"c"}]}', ' \n 0 ']) {
      expect(findJsonSyntaxError(text)).toBeUndefined();
    }
  });
});
