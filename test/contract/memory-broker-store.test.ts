import { expect, it } from 'vitest';
import { MemoryBrokerStore } from '../../src/storage/memory/memory-broker-store.js';
import { runBrokerStoreContract, type StoreUnderTest } from './broker-store.contract.js';
import { runStateStoreKeysContract } from './state-store-keys.contract.js';

async function memoryStore(): Promise<StoreUnderTest> {
  const store = new MemoryBrokerStore();
  // Memory: reopening is the same instance, whose data outlives close() in this process.
  return { store, reopen: async () => store };
}

runBrokerStoreContract('MemoryBrokerStore', memoryStore);
runStateStoreKeysContract('MemoryBrokerStore', memoryStore);

it('MemoryBrokerStore is not durable', () => {
  expect(new MemoryBrokerStore().durable).toBe(false);
});
