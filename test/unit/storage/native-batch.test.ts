import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { classicLevelVersion, nativeBatchesOf } from '../../../src/storage/level/native-batch.js';
import { LevelBrokerStore } from '../../../src/storage/level/level-broker-store.js';

/** The version of the classic-level that `level` loads, read from its package.json. */
async function installedClassicLevel(): Promise<string> {
  const fromLevel = createRequire(createRequire(import.meta.url).resolve('level'));
  const manifest: { version: string } = JSON.parse(await readFile(fromLevel.resolve('classic-level/package.json'), 'utf8'));
  return manifest.version;
}

describe('classic-level native chained batch (the level store relies on its private _chainedBatch)', () => {
  let dir: string;
  let db: Level<Buffer, Buffer>;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ops-native-batch-'));
    db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
  });

  afterEach(async () => {
    if (db.status === 'open') await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('the installed classic-level still defines _chainedBatch on its class: an upgrade that removes it fails here', async () => {
    expect(Object.hasOwn(Level.prototype, '_chainedBatch'), `classic-level ${await installedClassicLevel()} has no _chainedBatch: see src/storage/level/native-batch.ts`).toBe(true);
    const make = nativeBatchesOf(db);
    expect(make).toBeTypeOf('function');
  });

  it('a native batch made through the guarded accessor puts, deletes and writes synced on a real LevelDB', async () => {
    await db.put(Buffer.from('gone'), Buffer.from('x'));
    const make = nativeBatchesOf(db);
    if (make === undefined) throw new Error('a classic-level database without a native chained batch');
    const batch = make();
    batch._put(Buffer.from('k'), Buffer.from('v'));
    batch._del(Buffer.from('gone'));
    await batch._write({ sync: true });
    const rows: [string, string][] = [];
    for await (const [key, value] of db.iterator()) rows.push([key.toString(), value.toString()]);
    expect(rows).toEqual([['k', 'v']]);
  });

  it('a level store opens on the installed classic-level (its group commit takes the native batch)', async () => {
    await db.close();
    const store = await LevelBrokerStore.open({ path: join(dir, 'store') });
    await store.putRetained({ topic: 't', payload: Buffer.from('p'), qos: 1, retain: true });
    expect((await store.loadRetained()).map((m) => m.topic)).toEqual(['t']);
    await store.close();
  });

  it('names the installed classic-level version when its class has no _chainedBatch, and a level store then refuses to open', async () => {
    const version = await installedClassicLevel();
    expect(classicLevelVersion()).toBe(version);
    const saved = Object.getOwnPropertyDescriptor(Level.prototype, '_chainedBatch') as PropertyDescriptor;
    Reflect.deleteProperty(Level.prototype, '_chainedBatch');
    try {
      expect(() => nativeBatchesOf(db)).toThrow(`classic-level ${version} defines no native _chainedBatch`);
      await db.close();
      await expect(LevelBrokerStore.open({ path: join(dir, 'store') })).rejects.toMatchObject({ code: 'STO_OPEN_FAILED', message: expect.stringContaining(`classic-level ${version}`) });
    } finally {
      Object.defineProperty(Level.prototype, '_chainedBatch', saved);
    }
  });
});
