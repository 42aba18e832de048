import type { IPublishPacket } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import type { PersistenceDecisions } from '../../../src/broker/persistence.js';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import type { UserProperty } from '../../../src/protocol/user-properties.js';
import { MemoryBrokerStore } from '../../../src/storage/memory-broker-store.js';
import type { RawClient } from '../../helpers/raw-client.js';
import { drainUntilPong, RawClients } from '../../helpers/session-helpers.js';
import { startBroker, type RunningBroker } from '../../helpers/start-broker.js';

const brokers: RunningBroker[] = [];
const raws = new RawClients();
afterEach(async () => {
  raws.destroyAll();
  for (const b of brokers.splice(0)) await b.stop();
});

/** Decisions the test flips: queues of listed client ids, retained topics under `keep/`, or the dynamic property. */
function decisions(state: { queueIds: Set<string> }): PersistenceDecisions {
  const asked = (props: readonly UserProperty[]): boolean => props.some(([k, v]) => k === 'aio-persistence' && v === 'true');
  return {
    persistQueue: (clientId, expiry, props) => expiry > 0 && (state.queueIds.has(clientId) || asked(props)),
    persistRetained: (topic, props) => topic.startsWith('keep/') || asked(props),
  };
}

async function start(store: MemoryBrokerStore, state: { queueIds: Set<string> }): Promise<RunningBroker> {
  const b = await startBroker({ store, persistence: decisions(state) });
  brokers.push(b);
  return b;
}

/** Closes the broker (graceful) and starts a new one on the same store: a restart. */
async function restart(b: RunningBroker, store: MemoryBrokerStore, state: { queueIds: Set<string> }): Promise<RunningBroker> {
  raws.destroyAll();
  await b.stop();
  brokers.splice(brokers.indexOf(b), 1);
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

  it('a client that becomes persisted stores only what is queued after that; disabling waits for a clean start', async () => {
    const store = new MemoryBrokerStore();
    const state = { queueIds: new Set<string>() };
    const b = await start(store, state);
    await subscribeAndLeave((await session(b, 'later', true)).raw, 'l');
    await publish(b, 'l', ['before']);
    expect(await store.loadQueue('later')).toEqual([]);

    state.queueIds.add('later'); // the policy changes (as `ops broker persist update` does)
    const resumed = await session(b, 'later', false);
    expect(payloads(await drainUntilPong(resumed.raw))).toEqual(['before']);
    resumed.raw.send({ cmd: 'puback', messageId: 1 });
    resumed.raw.send({ cmd: 'disconnect', reasonCode: ReasonCode.Success });
    await resumed.raw.closed;
    await publish(b, 'l', ['after']);
    expect((await store.loadQueue('later')).map((e) => e.message.payload.toString())).toEqual(['after']);

    state.queueIds.delete('later'); // switched off: still persisted on resume ...
    const again = await session(b, 'later', false);
    again.raw.send({ cmd: 'disconnect', reasonCode: ReasonCode.Success });
    await again.raw.closed;
    await publish(b, 'l', ['still-stored']);
    expect((await store.loadQueue('later')).map((e) => e.message.payload.toString())).toEqual(['after', 'still-stored']);

    const clean = await session(b, 'later', true); // ... until the session starts clean
    await subscribeAndLeave(clean.raw, 'l');
    await publish(b, 'l', ['memory-only']);
    expect(await store.loadQueue('later')).toEqual([]);
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
});
