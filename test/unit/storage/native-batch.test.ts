import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import { classicLevelVersion, nativeBatchesOf } from '../../../src/storage/level/native-batch.js';
import { expectCode, levelStoreFixture } from '../../helpers/level-store-fixture.js';

type Db = Level<Buffer, Buffer>;

/** The version of the classic-level that `level` loads, read from its package.json. */
async function installedClassicLevel(): Promise<string> {
  const fromLevel = createRequire(createRequire(import.meta.url).resolve('level'));
  const manifest: { version: string } = JSON.parse(await readFile(fromLevel.resolve('classic-level/package.json'), 'utf8'));
  return manifest.version;
}

describe('classic-level native chained batch (the level store relies on its private _chainedBatch)', () => {
  const fixture = levelStoreFixture('ops-native-batch-');
  const databases: Db[] = [];

  /** A real LevelDB in a fresh directory, open. */
  const openDb = async (): Promise<Db> => {
    const db = new Level<Buffer, Buffer>(await fixture.freshDir(), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    databases.push(db);
    return db;
  };

  afterEach(async () => {
    for (const db of databases.splice(0)) if (db.status === 'open') await db.close();
    await fixture.cleanup();
  });

  it('the installed classic-level still defines _chainedBatch on its class: an upgrade that removes it fails here', async () => {
    expect(Object.hasOwn(Level.prototype, '_chainedBatch'), `classic-level ${await installedClassicLevel()} has no _chainedBatch: see src/storage/level/native-batch.ts`).toBe(true);
    expect(nativeBatchesOf(await openDb())).toBeTypeOf('function');
  });

  it('a native batch made through the guarded accessor puts, deletes and writes synced on a real LevelDB', async () => {
    const db = await openDb();
    await db.put(Buffer.from('gone'), Buffer.from('x'));
    const make = nativeBatchesOf(db);
    if (make === undefined) throw new Error('a classic-level database without a native chained batch');
    const batch = make();
    batch._put(Buffer.from('k'), Buffer.from('v'));
    batch._del(Buffer.from('gone'));
    await batch._write({ sync: true });
    expect((await db.iterator().all()).map(([key, value]) => [key.toString(), value.toString()])).toEqual([['k', 'v']]);
  });

  it('a level store opens on the installed classic-level and writes through its group commit', async () => {
    const store = await fixture.open({ path: join(await fixture.freshDir(), 'store') });
    await store.putRetained({ topic: 't', payload: Buffer.from('p'), qos: 1, retain: true });
    expect((await store.loadRetained()).map((m) => m.topic)).toEqual(['t']);
  });

  it('names the installed classic-level version when its class has no _chainedBatch, and a level store then refuses to open', async () => {
    const version = await installedClassicLevel();
    expect(classicLevelVersion()).toBe(version);
    const db = await openDb();
    const path = join(await fixture.freshDir(), 'store');
    const saved = Object.getOwnPropertyDescriptor(Level.prototype, '_chainedBatch') as PropertyDescriptor;
    Reflect.deleteProperty(Level.prototype, '_chainedBatch');
    try {
      expect(() => nativeBatchesOf(db)).toThrow(`classic-level ${version} defines no native _chainedBatch`);
      const error = await expectCode(fixture.open({ path }), 'STO_OPEN_FAILED');
      expect(error.message).toContain(`classic-level ${version}`);
    } finally {
      Object.defineProperty(Level.prototype, '_chainedBatch', saved);
    }
  });
});
