import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBrokerStore } from '../../src/storage/redis/redis-broker-store.js';
import { queueKey, sessionIndexKeyOf, sessionKey } from '../../src/storage/redis/redis-keys.js';
import { keySlot, startRedisSingleNode, type RedisSingleNode, type SingleNodeCommands } from '../helpers/redis-single-node.js';
import { runBrokerStoreContract, type StoreUnderTest } from './broker-store.contract.js';
import { runStateStoreKeysContract } from './state-store-keys.contract.js';

// Until the cluster helper and client land: one plain redis-server, and an adapter that refuses
// any call whose keys are not all in its slot key's slot (as a cluster would).
let node: RedisSingleNode;
beforeAll(async () => {
  node = await startRedisSingleNode();
});
afterAll(async () => {
  await node?.stop();
});

async function open(commands: SingleNodeCommands): Promise<RedisBrokerStore> {
  return RedisBrokerStore.open({ commands, name: `redis://127.0.0.1:${node.port}` });
}

/** A fresh store on an emptied server; reopen opens a new connection and store on the same data. */
async function redisStore(): Promise<StoreUnderTest> {
  const commands = await node.connect();
  await commands.raw([['FLUSHALL']]);
  return { store: await open(commands), reopen: async () => open(await node.connect()) };
}

runBrokerStoreContract('RedisBrokerStore (single node)', redisStore);
runStateStoreKeysContract('RedisBrokerStore (single node)', redisStore);

describe('RedisBrokerStore: keys, hostile ids and failures', () => {
  it('is durable', async () => {
    const { store } = await redisStore();
    expect(store.durable).toBe(true);
    await store.close();
  });

  it('client ids with braces and other hostile bytes keep a session and its queue in one slot, and round-trip', async () => {
    const { store } = await redisStore();
    const ids = ['a}{b', '{', '}', '{x}', '', 'ü/{c:1}', 'x'.repeat(300)];
    for (const clientId of ids) {
      expect(keySlot(sessionKey(clientId))).toBe(keySlot(queueKey(clientId)));
      expect(sessionKey(clientId).slice(1)).not.toMatch(/[{}].*[{}].*[{}]/); // only the tag's own braces
      await store.saveSession({ clientId, protocolVersion: 5, expiryIntervalSeconds: 60, subscriptions: [] });
      await store.putQueueEntries(clientId, [{ seq: 1, message: { topic: `t/${clientId}`, payload: Buffer.from(clientId), qos: 1, retain: false }, qos: 1, retain: false }]);
    }
    expect((await store.loadSessions()).map((s) => s.clientId).sort()).toEqual([...ids].sort());
    for (const clientId of ids) expect((await store.loadQueue(clientId))[0]?.message.payload.toString()).toBe(clientId);
    // Distinct ids never share a tag (the keys of 'a}{b' are not those of '{' or '}').
    expect(new Set(ids.map(sessionKey)).size).toBe(ids.length);
    await store.close();
  });

  it('the adapter refuses a call whose keys leave the slot key\'s slot (the check the suite relies on)', async () => {
    const commands = await node.connect();
    try {
      await expect(commands.exec(sessionKey('a'), [['DEL', sessionKey('a'), sessionIndexKeyOf('a')]])).rejects.toThrow(/CROSSSLOT/);
    } finally {
      await commands.close();
    }
  });

  it('a damaged value is STO_CORRUPT_RECORD, not data', async () => {
    const commands = await node.connect();
    await commands.raw([['FLUSHALL']]);
    const store = await open(commands);
    await store.saveSession({ clientId: 'c', protocolVersion: 4, expiryIntervalSeconds: 0, subscriptions: [] });
    await commands.raw([['SET', sessionKey('c'), Buffer.from([0, 1, 1, 0xff])]]);
    await expect(store.loadSessions()).rejects.toMatchObject({ code: 'STO_CORRUPT_RECORD' });
    // A record moved under another client's key is refused too.
    await store.saveSession({ clientId: 'd', protocolVersion: 4, expiryIntervalSeconds: 0, subscriptions: [] });
    const [moved] = await commands.raw([['GET', sessionKey('d')]]);
    if (!Buffer.isBuffer(moved)) throw new Error('no session d');
    await commands.raw([['SET', sessionKey('c'), moved]]);
    await expect(store.loadSessions()).rejects.toMatchObject({ code: 'STO_CORRUPT_RECORD' });
    await store.close();
  });

  it('an error reply rejects the write with STO_WRITE_FAILED; a closed store rejects writes and reads', async () => {
    const commands = await node.connect();
    await commands.raw([['FLUSHALL']]);
    const store = await open(commands);
    await commands.raw([['SET', queueKey('c'), 'not a hash']]);
    await expect(store.putQueueEntries('c', [{ seq: 1, message: { topic: 't', payload: Buffer.alloc(0), qos: 1, retain: false }, qos: 1, retain: false }])).rejects.toMatchObject({
      code: 'STO_WRITE_FAILED',
    });
    await expect(store.loadQueue('c')).rejects.toMatchObject({ code: 'STO_READ_FAILED' });
    await store.close();
    await expect(store.saveSession({ clientId: 'c', protocolVersion: 4, expiryIntervalSeconds: 0, subscriptions: [] })).rejects.toMatchObject({ code: 'STO_WRITE_FAILED' });
    await expect(store.loadSessions()).rejects.toMatchObject({ code: 'STO_READ_FAILED' });
  });

  it('a lost connection rejects writes in flight with STO_WRITE_FAILED (not acknowledged)', async () => {
    const commands = await node.connect();
    const store = await open(commands);
    const killer = await node.connect();
    await killer.raw([['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes']]);
    await expect(store.putRetained({ topic: 't', payload: Buffer.from('x'), qos: 0, retain: true })).rejects.toMatchObject({ code: 'STO_WRITE_FAILED' });
    await killer.close();
    await store.close();
  });

  it('open fails with STO_OPEN_FAILED when the backend does not answer', async () => {
    const commands = await node.connect();
    await commands.close();
    await expect(open(commands)).rejects.toMatchObject({ code: 'STO_OPEN_FAILED' });
  });
});
