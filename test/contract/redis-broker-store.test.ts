import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueEntryRecord } from '../../src/storage/broker-store.js';
import type { RedisReply } from '../../src/storage/redis/cluster-commands.js';
import { RedisBrokerStore } from '../../src/storage/redis/redis-broker-store.js';
import { bucketOf, clientTag, incomingQos2Key, queueKey as queueKeyOfTag, sessionIndexKey, sessionKey as sessionKeyOfTag } from '../../src/storage/redis/redis-keys.js';
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

/** Keys of a plain (unencrypted) store, by client id. */
const sessionKey = (clientId: string): string => sessionKeyOfTag(clientTag(Buffer.from(clientId, 'utf8')));
const queueKey = (clientId: string): string => queueKeyOfTag(clientTag(Buffer.from(clientId, 'utf8')));

async function open(commands: SingleNodeCommands, encryptionKey?: Buffer): Promise<RedisBrokerStore> {
  return RedisBrokerStore.open({ commands, name: `redis://127.0.0.1:${node.port}`, ...(encryptionKey !== undefined ? { encryptionKey } : {}) });
}

/** A fresh store on an emptied server; reopen opens a new connection and store on the same data. */
async function redisStore(encryptionKey?: Buffer): Promise<StoreUnderTest> {
  const commands = await node.connect();
  await commands.raw([['FLUSHALL']]);
  return { store: await open(commands, encryptionKey), reopen: async () => open(await node.connect(), encryptionKey) };
}

const encryptedStore = (): Promise<StoreUnderTest> => redisStore(randomBytes(32));

runBrokerStoreContract('RedisBrokerStore (single node, encryption Disabled)', () => redisStore());
runStateStoreKeysContract('RedisBrokerStore (single node, encryption Disabled)', () => redisStore());
runBrokerStoreContract('RedisBrokerStore (single node, AES-256-GCM)', encryptedStore);
runStateStoreKeysContract('RedisBrokerStore (single node, AES-256-GCM)', encryptedStore);

/** Every key name and every stored byte (strings, hash fields and values, set members), as one Buffer. */
async function everything(commands: SingleNodeCommands): Promise<Buffer> {
  const [keys] = await commands.raw([['KEYS', '*']]);
  if (!Array.isArray(keys)) throw new Error('KEYS did not return an array');
  const parts: Buffer[] = [];
  const add = (reply: RedisReply | undefined): void => {
    if (Buffer.isBuffer(reply)) parts.push(reply);
    else if (Array.isArray(reply)) reply.forEach(add);
  };
  for (const key of keys) {
    if (!Buffer.isBuffer(key)) throw new Error('a key name is not a bulk string');
    parts.push(key);
    const [type] = await commands.raw([['TYPE', key]]);
    const read = { string: 'GET', hash: 'HGETALL', set: 'SMEMBERS' }[String(type)];
    if (read === undefined) throw new Error(`unexpected key type ${String(type)}`);
    add((await commands.raw([[read, key]]))[0]);
  }
  return Buffer.concat(parts);
}

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
      expect(clientTag(Buffer.from(clientId, 'utf8'))).toMatch(/^(?:[A-Za-z0-9_-]*|h\.[A-Za-z0-9_-]{43})$/); // no brace can reach the key names
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

  it('a client id of 65,535 bytes gets a short key name (its SHA-256), round-trips, and is told apart from ids of every length around the limit', async () => {
    const { store } = await redisStore();
    const ids = ['y'.repeat(65_535), 'y'.repeat(48), 'y'.repeat(49), 'y'.repeat(64)];
    for (const clientId of ids) {
      await store.saveSession({ clientId, protocolVersion: 5, expiryIntervalSeconds: 60, subscriptions: [] });
      await store.putQueueEntries(clientId, [{ seq: 1, message: { topic: 't', payload: Buffer.from(String(clientId.length)), qos: 1, retain: false }, qos: 1, retain: false }]);
    }
    expect((await store.loadSessions()).map((s) => s.clientId.length).sort((a, b) => a - b)).toEqual([48, 49, 64, 65_535]);
    for (const clientId of ids) expect((await store.loadQueue(clientId))[0]?.message.payload.toString()).toBe(String(clientId.length));
    const raw = await node.connect();
    const [keys] = await raw.raw([['KEYS', '*']]);
    await raw.close();
    expect(Array.isArray(keys) && keys.every((k) => Buffer.isBuffer(k) && k.length < 80)).toBe(true);
    expect(new Set(ids.map(sessionKey)).size).toBe(ids.length);
    await store.close();
  });

  it('the adapter refuses a call whose keys leave the slot key\'s slot (the check the suite relies on)', async () => {
    const commands = await node.connect();
    try {
      await expect(commands.exec(sessionKey('a'), [['DEL', sessionKey('a'), sessionIndexKey(bucketOf(Buffer.from('a')))]])).rejects.toThrow(/CROSSSLOT/);
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

  it('inbound QoS 2 packet ids: stored, loaded in order, released, deleted with the session; a member that is not a packet id is STO_CORRUPT_RECORD', async () => {
    const commands = await node.connect();
    await commands.raw([['FLUSHALL']]);
    const store = await open(commands);
    const key = incomingQos2Key(clientTag(Buffer.from('q{2}', 'utf8')));
    expect(keySlot(key)).toBe(keySlot(sessionKey('q{2}'))); // one slot with its session: a hand-over's barrier covers it
    expect(await store.loadIncomingQos2('q{2}')).toEqual([]);
    await Promise.all([store.markIncomingQos2('q{2}', 65535), store.markIncomingQos2('q{2}', 7), store.markIncomingQos2('q{2}', 1), store.markIncomingQos2('q{2}', 7)]);
    expect(await store.loadIncomingQos2('q{2}')).toEqual([1, 7, 65535]);
    await store.releaseIncomingQos2('q{2}', 7);
    await store.releaseIncomingQos2('q{2}', 8); // not taken: harmless
    expect(await store.loadIncomingQos2('q{2}')).toEqual([1, 65535]);
    await expect(store.markIncomingQos2('q{2}', 0)).rejects.toMatchObject({ code: 'STO_WRITE_FAILED' });
    await expect(store.markIncomingQos2('q{2}', 65536)).rejects.toMatchObject({ code: 'STO_WRITE_FAILED' });
    await store.saveSession({ clientId: 'q{2}', protocolVersion: 5, expiryIntervalSeconds: 60, subscriptions: [] });
    await store.deleteSession('q{2}');
    expect(await commands.raw([['EXISTS', key]])).toEqual([0]);
    for (const bad of ['0', '65536', '07', 'x', '-1', '1e3', '']) {
      await commands.raw([['DEL', key], ['SADD', key, '5', bad]]);
      await expect(store.loadIncomingQos2('q{2}')).rejects.toMatchObject({ code: 'STO_CORRUPT_RECORD' });
    }
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

  it('queue writes of one turn go out as one exec per queue, merged in call order; a later command of the store goes after them', async () => {
    const commands = await node.connect();
    await commands.raw([['FLUSHALL']]);
    const store = await open(commands);
    const sent: (readonly (string | Buffer | number)[])[][] = [];
    const exec = commands.exec.bind(commands);
    commands.exec = (slotKey, cmds, options) => {
      sent.push([...cmds]);
      return exec(slotKey, cmds, options);
    };
    const entry = (seq: number): QueueEntryRecord => ({ seq, message: { topic: 't', payload: Buffer.from(`m${seq}`), qos: 1, retain: false }, qos: 1, retain: false });
    const writes = [1, 2, 3].map((seq) => store.putQueueEntries('c', [entry(seq)]));
    writes.push(store.deleteQueueEntries('c', [1]), store.deleteQueueEntries('c', [2]), store.putQueueEntries('c', [entry(4)]));
    expect(new Set(writes).size).toBe(1); // one batch: one promise
    await Promise.all(writes);
    expect(sent.map((cmds) => cmds.map((c) => `${String(c[0])} ${c.length - 2}`))).toEqual([['HSET 6', 'HDEL 2', 'HSET 2']]);
    expect((await store.loadQueue('c')).map((e) => e.seq)).toEqual([3, 4]);
    // A session delete issued in the same turn as queue writes goes after them: nothing is left.
    sent.length = 0;
    const late = store.putQueueEntries('c', [entry(5)]);
    const deleted = store.deleteSession('c');
    await Promise.all([late, deleted]);
    expect(sent[0]?.[0]?.[0]).toBe('HSET');
    expect(await store.loadQueue('c')).toEqual([]);
    await store.close();
  });

  it('a lost connection rejects writes in flight with STO_WRITE_FAILED (not acknowledged)', async () => {
    const commands = await node.connect();
    const store = await open(commands);
    const killer = await node.connect();
    await killer.raw([['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes']]);
    await expect(store.putRetained({ topic: 't', payload: Buffer.from('x'), qos: 0, retain: true })).rejects.toMatchObject({ code: 'STO_WRITE_FAILED' });
    await expect(store.loadRetained()).rejects.toMatchObject({ code: 'STO_READ_FAILED' });
    await killer.close();
    await store.close();
  });

  it('with a key, no client id, topic, payload, state-store key or value is stored in plain text; without one they are', async () => {
    const canaries = { clientId: 'canary-client-7f3a', topic: 'canary/topic/91c2', payload: 'canary-payload-55d0', ssKey: 'canary-sskey-e4b1', ssValue: 'canary-ssvalue-08aa' };
    for (const encryptionKey of [randomBytes(32), undefined]) {
      const commands = await node.connect();
      await commands.raw([['FLUSHALL']]);
      const store = await open(commands, encryptionKey);
      const message = { topic: canaries.topic, payload: Buffer.from(canaries.payload), qos: 1 as const, retain: true };
      await store.saveSession({ clientId: canaries.clientId, protocolVersion: 5, expiryIntervalSeconds: 60, subscriptions: [], will: { message, delaySeconds: 0 } });
      await store.putQueueEntries(canaries.clientId, [{ seq: 1, message, qos: 1, retain: false }]);
      await store.putRetained(message);
      await store.putStateStoreKey({ key: Buffer.from(canaries.ssKey), value: Buffer.from(canaries.ssValue), version: { wall: 1, counter: 0, node: 'n' } });
      const all = await everything(commands);
      for (const canary of Object.values(canaries)) expect(all.includes(canary), canary).toBe(encryptionKey === undefined);
      expect(all.includes(clientTag(Buffer.from(canaries.clientId)))).toBe(encryptionKey === undefined); // nor its base64url
      await store.close();
    }
  });

  it('a value sealed under one key does not open under another (AAD): moved records are STO_CORRUPT_RECORD', async () => {
    const commands = await node.connect();
    await commands.raw([['FLUSHALL']]);
    const store = await open(commands, randomBytes(32));
    const message = { topic: 't', payload: Buffer.from('x'), qos: 1 as const, retain: false };
    await store.putQueueEntries('c', [{ seq: 1, message, qos: 1, retain: false }, { seq: 2, message, qos: 1, retain: false }]);
    const [queue] = await commands.raw([['KEYS', 'q:*']]);
    if (!Array.isArray(queue) || !Buffer.isBuffer(queue[0])) throw new Error('no queue key');
    const [one] = await commands.raw([['HGET', queue[0], '1']]);
    if (!Buffer.isBuffer(one)) throw new Error('no entry 1');
    await commands.raw([['HSET', queue[0], '2', one]]); // entry 1's sealed value under seq 2
    await expect(store.loadQueue('c')).rejects.toMatchObject({ code: 'STO_CORRUPT_RECORD' });
    await store.close();
  });

  it('a store written with another bucket count is refused at open (STO_OPEN_FAILED), not read as empty', async () => {
    const commands = await node.connect();
    await commands.raw([['FLUSHALL']]);
    const store = await open(commands);
    await store.saveSession({ clientId: 'kept', protocolVersion: 5, expiryIntervalSeconds: 60, subscriptions: [] });
    await store.close();
    const raw = await node.connect();
    await raw.raw([['HSET', 'm:{meta}', 'buckets', '32']]);
    await raw.close();
    await expect(open(await node.connect())).rejects.toMatchObject({ code: 'STO_OPEN_FAILED', message: expect.stringContaining('32 buckets per kind, this broker uses 64') });
  });

  it('the encryption mode and key are checked at open: STO_WRONG_KEY', async () => {
    const key = randomBytes(32);
    const first = await node.connect();
    await first.raw([['FLUSHALL']]);
    await (await open(first, key)).close();
    await expect(open(await node.connect(), randomBytes(32))).rejects.toMatchObject({ code: 'STO_WRONG_KEY' });
    await expect(open(await node.connect())).rejects.toMatchObject({ code: 'STO_WRONG_KEY' });
    await expect(open(await node.connect(), randomBytes(16))).rejects.toMatchObject({ code: 'STO_WRONG_KEY' });
    const again = await open(await node.connect(), key);
    expect(again.encryption).toBe('AES-256-GCM');
    await again.close();
    const plain = await node.connect();
    await plain.raw([['FLUSHALL']]);
    await (await open(plain)).close();
    await expect(open(await node.connect(), key)).rejects.toMatchObject({ code: 'STO_WRONG_KEY' });
    const reopened = await open(await node.connect());
    expect(reopened.encryption).toBe('Disabled');
    await reopened.close();
  });

  it('open fails with STO_OPEN_FAILED when the backend does not answer', async () => {
    const commands = await node.connect();
    await commands.close();
    await expect(open(commands)).rejects.toMatchObject({ code: 'STO_OPEN_FAILED' });
  });
});
