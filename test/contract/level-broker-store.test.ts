import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { LevelBrokerStore } from '../../src/storage/level/level-broker-store.js';
import { Level } from 'level';
import { runBrokerStoreContract, type StoreUnderTest } from './broker-store.contract.js';
import { runStateStoreKeysContract } from './state-store-keys.contract.js';

const dirs: string[] = [];

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ops-level-contract-'));
  dirs.push(dir);
  return dir;
}

afterAll(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function plainStore(): Promise<StoreUnderTest> {
  const path = await freshDir();
  const store = await LevelBrokerStore.open({ path });
  return { store, reopen: () => LevelBrokerStore.open({ path }) };
}

async function encryptedStore(): Promise<StoreUnderTest> {
  const path = await freshDir();
  const encryptionKey = randomBytes(32);
  const store = await LevelBrokerStore.open({ path, encryptionKey });
  return { store, reopen: () => LevelBrokerStore.open({ path, encryptionKey }) };
}

runBrokerStoreContract('LevelBrokerStore (encryption Disabled)', plainStore);
runBrokerStoreContract('LevelBrokerStore (AES-256-GCM)', encryptedStore);
runStateStoreKeysContract('LevelBrokerStore (encryption Disabled)', plainStore);
runStateStoreKeysContract('LevelBrokerStore (AES-256-GCM)', encryptedStore);

it('an encrypted store keeps state-store key names and values off the disk in plain text; a plain one keeps raw key bytes', async () => {
  const secret = Buffer.from('secret-key-name-1234');
  const value = Buffer.from('secret-value-5678');
  const encPath = await freshDir();
  const plainPath = await freshDir();
  const enc = await LevelBrokerStore.open({ path: encPath, encryptionKey: randomBytes(32) });
  const plain = await LevelBrokerStore.open({ path: plainPath });
  const record = { key: secret, value, version: { wall: 1, counter: 0, node: 'n' } };
  await enc.putStateStoreKey(record);
  await plain.putStateStoreKey(record);
  await enc.close();
  await plain.close();
  for (const [path, visible] of [[encPath, false], [plainPath, true]] as const) {
    const db = new Level<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    try {
      const entries = await db.iterator().all();
      const keys = entries.filter(([k]) => k.subarray(0, 2).toString() === 'k/');
      expect(keys).toHaveLength(1);
      expect(keys.some(([k]) => k.includes(secret))).toBe(visible);
      expect(entries.some(([k, v]) => k.includes(value) || v.includes(value))).toBe(visible);
    } finally {
      await db.close();
    }
  }
});

it('LevelBrokerStore is durable and reports its encryption mode', async () => {
  const plain = await LevelBrokerStore.open({ path: await freshDir() });
  const encrypted = await LevelBrokerStore.open({ path: await freshDir(), encryptionKey: randomBytes(32) });
  try {
    expect(plain.durable).toBe(true);
    expect(plain.encryption).toBe('Disabled');
    expect(encrypted.encryption).toBe('AES-256-GCM');
  } finally {
    await plain.close();
    await encrypted.close();
  }
});
