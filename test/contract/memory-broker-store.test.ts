import { expect, it } from 'vitest';
import { MemoryBrokerStore } from '../../src/storage/memory-broker-store.js';
import { runBrokerStoreContract } from './broker-store.contract.js';
import { runStateStoreKeysContract } from './state-store-keys.contract.js';

runBrokerStoreContract('MemoryBrokerStore', async () => {
  const store = new MemoryBrokerStore();
  // Memory: reopening is the same instance, whose data outlives close() in this process.
  return { store, reopen: async () => store };
});

runStateStoreKeysContract('MemoryBrokerStore', async () => {
  const store = new MemoryBrokerStore();
  return { store, reopen: async () => store };
});

it('MemoryBrokerStore is not durable', () => {
  expect(new MemoryBrokerStore().durable).toBe(false);
});
