import type { IPublishPacket } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import type { PersistenceDecisions } from '../../../src/broker/persistence-decisions.js';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import type { UserProperty } from '../../../src/protocol/user-properties.js';
import { MemoryBrokerStore } from '../../../src/storage/memory/memory-broker-store.js';
import type { RawClient } from '../../helpers/raw-client.js';
import { drainUntilPong, RawClients } from '../../helpers/session-helpers.js';
import { useBroker, type RunningBroker } from '../../helpers/start-broker.js';

const brokers = useBroker();
const raws = new RawClients();
afterEach(() => raws.destroyAll());

/** What the test's policy selects: queues of listed client ids, retained topics under the prefixes, or the dynamic property. */
interface PolicyState {
  queueIds: Set<string>;
  retainPrefixes?: string[];
  /** The dynamic property is honoured (`dynamic.mode: Enabled`). */
  dynamic?: boolean;
}

/** Decisions the test flips, as `ops broker persist update` replaces the live policy. */
function decisions(state: PolicyState): PersistenceDecisions {
  const asked = (props: readonly UserProperty[]): boolean => state.dynamic !== false && props.some(([k, v]) => k === 'aio-persistence' && v === 'true');
  return {
    persistQueue: (clientId, expiry, props) => expiry > 0 && (state.queueIds.has(clientId) || asked(props)),
    persistRetained: (topic, props) => (state.retainPrefixes ?? ['keep/']).some((prefix) => topic.startsWith(prefix)) || asked(props),
  };
}

async function start(store: MemoryBrokerStore, state: PolicyState): Promise<RunningBroker> {
  return brokers.start({ store, persistence: decisions(state) });
}

/** Closes the broker (graceful) and starts a new one on the same store: a restart. */
async function restart(b: RunningBroker, store: MemoryBrokerStore, state: PolicyState): Promise<RunningBroker> {
  raws.destroyAll();
  await b.stop();
  return start(store, state);
}

async function session(b: RunningBroker, clientId: string, clean: boolean, userProperties?: Record<string, string>): Promise<{ raw: RawClient; present: boolean }> {
  const raw = await raws.open(b.port, 5);
  const connack = await raw.connect({ clientId, clean, properties: { sessionExpiryInterval: 300, ...(userProperties !== undefined ? { userProperties } : {}) } });
  return { raw, present: connack.sessionPresent };
}

async function subscribeAndLeave(raw: RawClient, topic: string): Promise<void> {
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
  expect((await raw.nextOf('suback'))?.cmd).toBe('suback');
  raw.send({ cmd: 'disconnect', reasonCode: ReasonCode.Success });
  await raw.closed;
}

async function publish(b: RunningBroker, topic: string, payloads: string[], retain = false): Promise<void> {
  for (const p of payloads) await b.broker.publish({ topic, payload: Buffer.from(p), qos: 1, retain });
}

function queued(entries: readonly { message: { payload: Buffer } }[]): string[] {
  return entries.map((e) => e.message.payload.toString());
}

function payloads(packets: readonly { cmd: string }[]): string[] {
  return packets.filter((p) => p.cmd === 'publish').map((p) => (p as IPublishPacket).payload.toString());
}

describe('persistence decisions: which queues and retained messages reach the store', () => {
  it('a persisted queue comes back after a restart; a memory-only queue does not (its session metadata does)', async () => {
    const store = new MemoryBrokerStore();
    const state = { queueIds: new Set(['disk-client']) };
    let b = await start(store, state);
    await subscribeAndLeave((await session(b, 'disk-client', true)).raw, 'q');
    await subscribeAndLeave((await session(b, 'mem-client', true)).raw, 'q');
    await publish(b, 'q', ['m1', 'm2']);
    expect((await store.loadQueue('disk-client')).length).toBe(2);
    expect(await store.loadQueue('mem-client')).toEqual([]);

    b = await restart(b, store, state);
    const disk = await session(b, 'disk-client', false);
    expect(disk.present).toBe(true);
    expect(payloads(await drainUntilPong(disk.raw))).toEqual(['m1', 'm2']);
    const mem = await session(b, 'mem-client', false);
    expect(mem.present).toBe(true); // session metadata is always persisted
    expect(payloads(await drainUntilPong(mem.raw))).toEqual([]);
  });

  it('dynamic: a v5 CONNECT with aio-persistence=true persists its queue', async () => {
    const store = new MemoryBrokerStore();
    const state = { queueIds: new Set<string>() };
    const b = await start(store, state);
    await subscribeAndLeave((await session(b, 'dyn', true, { 'aio-persistence': 'true' })).raw, 'd');
    await publish(b, 'd', ['x']);
    expect((await store.loadQueue('dyn')).map((e) => e.message.payload.toString())).toEqual(['x']);
  });

  it('a policy swap that newly selects an offline session stores its next messages at once, without a reconnect', async () => {
    const store = new MemoryBrokerStore();
    const state: PolicyState = { queueIds: new Set<string>() };
    let b = await start(store, state);
    await subscribeAndLeave((await session(b, 'later', true)).raw, 'l');
    await publish(b, 'l', ['before']);
    expect(await store.loadQueue('later')).toEqual([]);

    state.queueIds.add('later'); // `ops broker persist update` replaces the policy
    expect(b.broker.persistencePolicyChanged()).toBe(1);
    await publish(b, 'l', ['after']);
    expect(queued(await store.loadQueue('later'))).toEqual(['after']);
    expect((await store.loadSessions()).find((r) => r.clientId === 'later')?.persistQueue).toBe(true);

    b = await restart(b, store, state); // only what was queued after the swap survives
    const resumed = await session(b, 'later', false);
    expect(payloads(await drainUntilPong(resumed.raw))).toEqual(['after']);
  });

  it('a policy swap that newly selects a connected session applies to what is queued after it disconnects', async () => {
    const store = new MemoryBrokerStore();
    const state: PolicyState = { queueIds: new Set<string>() };
    const b = await start(store, state);
    const connected = await session(b, 'online', true);
    state.queueIds.add('online');
    expect(b.broker.persistencePolicyChanged()).toBe(1);
    await subscribeAndLeave(connected.raw, 'o');
    await publish(b, 'o', ['offline-1']);
    expect(queued(await store.loadQueue('online'))).toEqual(['offline-1']);
  });

  it('a policy swap that no longer selects a session stops storing at once; what was stored stays until delivered', async () => {
    const store = new MemoryBrokerStore();
    const state: PolicyState = { queueIds: new Set(['narrowed']) };
    let b = await start(store, state);
    await subscribeAndLeave((await session(b, 'narrowed', true)).raw, 'n');
    await publish(b, 'n', ['stored-1']);

    state.queueIds.delete('narrowed');
    expect(b.broker.persistencePolicyChanged()).toBe(1);
    await publish(b, 'n', ['memory-1']);
    expect(queued(await store.loadQueue('narrowed'))).toEqual(['stored-1']);
    expect((await store.loadSessions()).find((r) => r.clientId === 'narrowed')?.persistQueue).toBe(false);

    b = await restart(b, store, state);
    const resumed = await session(b, 'narrowed', false);
    expect(payloads(await drainUntilPong(resumed.raw))).toEqual(['stored-1']);
    resumed.raw.send({ cmd: 'puback', messageId: 1 }); // the stored entry is deleted when acknowledged
    await drainUntilPong(resumed.raw);
    expect(await store.loadQueue('narrowed')).toEqual([]);
  });

  it('the dynamic property of the last CONNECT is asked again at a swap, also after a restart; a resume without it keeps persistence', async () => {
    const store = new MemoryBrokerStore();
    const state: PolicyState = { queueIds: new Set<string>(), dynamic: false };
    let b = await start(store, state);
    await subscribeAndLeave((await session(b, 'asker', true, { 'aio-persistence': 'true' })).raw, 'a');
    await publish(b, 'a', ['not-yet']);
    expect(await store.loadQueue('asker')).toEqual([]);

    b = await restart(b, store, state); // the CONNECT's properties are in the session record
    state.dynamic = true;
    expect(b.broker.persistencePolicyChanged()).toBe(1);
    await publish(b, 'a', ['asked']);
    expect(queued(await store.loadQueue('asker'))).toEqual(['asked']);

    const again = await session(b, 'asker', false); // no property now: still persisted, as AIO ...
    expect(payloads(await drainUntilPong(again.raw))).toEqual(['asked']);
    again.raw.send({ cmd: 'puback', messageId: 1 });
    again.raw.send({ cmd: 'disconnect', reasonCode: ReasonCode.Success });
    await again.raw.closed;
    await publish(b, 'a', ['still-stored']);
    expect(queued(await store.loadQueue('asker'))).toEqual(['still-stored']);

    const clean = await session(b, 'asker', true); // ... until the session starts clean
    await subscribeAndLeave(clean.raw, 'a');
    await publish(b, 'a', ['memory-only']);
    expect(await store.loadQueue('asker')).toEqual([]);
  });

  it('retained messages follow the retain rule; a memory-only value replaces a stored one on disk too', async () => {
    const store = new MemoryBrokerStore();
    const state = { queueIds: new Set<string>() };
    let b = await start(store, state);
    await publish(b, 'keep/a', ['stored'], true);
    await publish(b, 'temp/a', ['memory'], true);
    await b.broker.publish({ topic: 'temp/b', payload: Buffer.from('asked'), qos: 1, retain: true, properties: { userProperties: [['aio-persistence', 'true']] } });
    expect((await store.loadRetained()).map((m) => m.topic).sort()).toEqual(['keep/a', 'temp/b']);
    expect(b.broker.stats().retained).toBe(3);

    // temp/b again, without the property: memory only, and the stored value is removed.
    await publish(b, 'temp/b', ['not asked'], true);
    expect((await store.loadRetained()).map((m) => m.topic)).toEqual(['keep/a']);

    b = await restart(b, store, state);
    expect(b.broker.stats().retained).toBe(1);
  });

  it('the policy in force at a restart decides which stored retained messages come back; the others are deleted', async () => {
    const store = new MemoryBrokerStore();
    const state: PolicyState = { queueIds: new Set<string>(), retainPrefixes: ['keep/', 'also/'] };
    let b = await start(store, state);
    await publish(b, 'keep/a', ['K'], true);
    await publish(b, 'also/b', ['A'], true);
    expect((await store.loadRetained()).map((m) => m.topic).sort()).toEqual(['also/b', 'keep/a']);

    state.retainPrefixes = ['keep/']; // Custom narrowed to fewer topics
    b = await restart(b, store, state);
    expect(b.broker.stats().retained).toBe(1);
    expect((await store.loadRetained()).map((m) => m.topic)).toEqual(['keep/a']);

    state.retainPrefixes = []; // retain None
    b = await restart(b, store, state);
    expect(b.broker.stats().retained).toBe(0);
    expect(await store.loadRetained()).toEqual([]);
  });
});
