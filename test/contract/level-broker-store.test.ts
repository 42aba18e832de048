import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { LevelBrokerStore } from '../../src/storage/level-broker-store.js';
import { runBrokerStoreContract } from './broker-store.contract.js';

const dirs: string[] = [];

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ops-level-contract-'));
  dirs.push(dir);
  return dir;
}

afterAll(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

runBrokerStoreContract('LevelBrokerStore (encryption Disabled)', async () => {
  const path = await freshDir();
  const store = await LevelBrokerStore.open({ path });
  return { store, reopen: () => LevelBrokerStore.open({ path }) };
});

runBrokerStoreContract('LevelBrokerStore (AES-256-GCM)', async () => {
  const path = await freshDir();
  const encryptionKey = randomBytes(32);
  const store = await LevelBrokerStore.open({ path, encryptionKey });
  return { store, reopen: () => LevelBrokerStore.open({ path, encryptionKey }) };
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
