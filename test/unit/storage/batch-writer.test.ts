import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batchWriter } from '../../../src/storage/level/batch-writer.js';

describe('batchWriter (real LevelDB)', () => {
  let dir: string;
  let db: Level<Buffer, Buffer>;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ops-level-batch-'));
    db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
  });

  afterEach(async () => {
    if (db.status === 'open') await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  const entries = async (): Promise<[string, string][]> => {
    const out: [string, string][] = [];
    for await (const [key, value] of db.iterator()) out.push([key.toString(), value.toString()]);
    return out;
  };

  it('copies each key and value when it is added: a buffer reused before the write does not change what is written', async () => {
    await db.put(Buffer.from('gone'), Buffer.from('x'));
    const writes = batchWriter(db)();
    const key = Buffer.from('k1');
    const value = Buffer.from('v1');
    writes.put(key, value);
    key.write('k2');
    value.write('v2');
    writes.put(key, value);
    key.write('zz');
    value.write('zz');
    writes.del(Buffer.from('gone'));
    expect(writes.size).toBe(3);
    await writes.write();
    expect(await entries()).toEqual([
      ['k1', 'v1'],
      ['k2', 'v2'],
    ]);
  });

  it('without a native chained batch, writes an array of copies: a buffer reused before the write does not change what is written', async () => {
    Object.defineProperty(db, '_chainedBatch', { value: undefined, configurable: true }); // an abstract-level store other than classic-level
    const writes = batchWriter(db)();
    const key = Buffer.from('a1');
    writes.put(key, Buffer.from('v'));
    key.write('a2');
    writes.put(key, Buffer.from('w'));
    key.write('zz');
    await writes.write();
    expect(await entries()).toEqual([
      ['a1', 'v'],
      ['a2', 'w'],
    ]);
  });

  it('writes nothing of a batch that fails, and fails with the database error rather than crashing, once the database is closed', async () => {
    await db.put(Buffer.from('kept'), Buffer.from('1'));
    await db.close();
    const writes = batchWriter(db)();
    writes.put(Buffer.from('k'), Buffer.from('v'));
    expect(writes.size).toBe(1);
    await expect(writes.write()).rejects.toThrow(/not open/i);
    await db.open();
    expect(await entries()).toEqual([['kept', '1']]);
  });
});
