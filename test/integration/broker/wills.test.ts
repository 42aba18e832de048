import type { IConnectPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import { MemoryBrokerStore } from '../../../src/storage/memory/memory-broker-store.js';
import { useRawBroker } from '../../helpers/raw-broker.js';
import type { RawClient } from '../../helpers/raw-client.js';
import { within } from '../../helpers/session-helpers.js';
import { nextMessage } from '../../helpers/start-broker.js';

const { start, current, open } = useRawBroker();

type WillFields = NonNullable<IConnectPacket['will']>;

/** A raw v5 client with a will on `will/<clientId>`. */
async function withWill(clientId: string, will: Partial<WillFields> = {}, connect: Partial<IConnectPacket> = {}): Promise<RawClient> {
  const raw = await open(5);
  const connack = await raw.connect({
    clientId,
    will: { topic: `will/${clientId}`, payload: Buffer.from(`gone:${clientId}`), qos: 1, retain: false, ...will },
    ...connect,
  });
  expect(connack.reasonCode).toBe(ReasonCode.Success);
  return raw;
}

async function watcher(): Promise<import('mqtt').MqttClient> {
  const b = current();
  const client = await b.connect({ protocolVersion: 5, clientId: 'watcher' });
  await client.subscribeAsync('will/#', { qos: 1 });
  return client;
}

describe('wills', () => {
  it('publishes the will on an abnormal close with its properties forwarded [MQTT-3.1.2-8] [MQTT-3.3.2-15..20]', async () => {
    await start();
    const watch = await watcher();
    const raw = await withWill('abrupt', {
      properties: {
        contentType: 'application/json',
        userProperties: { site: 'plant-1', tags: ['a', 'b'] },
        responseTopic: 'replies/abrupt',
        correlationData: Buffer.from([1, 2, 3]),
        payloadFormatIndicator: true,
      },
    });
    const got = nextMessage(watch);
    raw.destroy(); // no DISCONNECT
    const { topic, payload, packet } = await within(got, 5000, 'will');
    expect(topic).toBe('will/abrupt');
    expect(payload.toString()).toBe('gone:abrupt');
    expect(packet.qos).toBe(1);
    expect(packet.retain).toBe(false);
    expect(packet.properties?.contentType).toBe('application/json');
    expect(packet.properties?.userProperties).toEqual({ site: 'plant-1', tags: ['a', 'b'] });
    expect(packet.properties?.responseTopic).toBe('replies/abrupt');
    expect(packet.properties?.correlationData).toEqual(Buffer.from([1, 2, 3]));
    expect(packet.properties?.payloadFormatIndicator).toBe(true);
  });

  it('does not publish the will after a normal DISCONNECT [MQTT-3.1.2-10] [MQTT-3.14.4-3]', async () => {
    const running = await start();
    const watch = await watcher();
    const raw = await withWill('polite');
    raw.send({ cmd: 'disconnect', reasonCode: ReasonCode.Success });
    await raw.closed;
    // barrier: a marker published afterwards is the next message
    const next = nextMessage(watch);
    await running.broker.publish({ topic: 'will/marker', payload: Buffer.from('marker'), qos: 1, retain: false });
    expect((await next).topic).toBe('will/marker');
  });

  it('does not publish the will of a 3.1.1 client after DISCONNECT, publishes it on abnormal close', async () => {
    await start();
    const watch = await watcher();
    const polite = await open(4);
    await polite.connect({ clientId: 'polite4', will: { topic: 'will/polite4', payload: Buffer.from('p'), qos: 0, retain: false } });
    polite.send({ cmd: 'disconnect' });
    await polite.closed;
    const rude = await open(4);
    await rude.connect({ clientId: 'rude4', will: { topic: 'will/rude4', payload: Buffer.from('r'), qos: 0, retain: false } });
    const next = nextMessage(watch);
    rude.destroy();
    expect((await within(next, 5000, 'will')).topic).toBe('will/rude4');
  });

  it('publishes the will on v5 DISCONNECT 0x04 (Disconnect with Will Message)', async () => {
    await start();
    const watch = await watcher();
    const raw = await withWill('withwill');
    const got = nextMessage(watch);
    raw.send({ cmd: 'disconnect', reasonCode: ReasonCode.DisconnectWithWill });
    expect((await within(got, 5000, 'will')).payload.toString()).toBe('gone:withwill');
  });

  it('publishes the will when the server closes the connection for a protocol error', async () => {
    await start();
    const watch = await watcher();
    const raw = await withWill('broken');
    const got = nextMessage(watch);
    raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'broken' });
    expect((await raw.next())?.cmd).toBe('disconnect');
    expect((await within(got, 5000, 'will')).topic).toBe('will/broken');
  });

  it('publishes a delayed will after the Will Delay Interval [MQTT-3.1.3-9]', async () => {
    await start();
    const watch = await watcher();
    const raw = await withWill('delayed', { properties: { willDelayInterval: 1 } }, { clean: false, properties: { sessionExpiryInterval: 60 } });
    const got = nextMessage(watch);
    const closedAt = Date.now();
    raw.destroy();
    const { payload, packet } = await within(got, 3000, 'delayed will');
    const elapsed = Date.now() - closedAt;
    expect(payload.toString()).toBe('gone:delayed');
    expect(Object.keys(packet.properties ?? {})).not.toContain('willDelayInterval'); // not a PUBLISH property
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(2500);
  });

  it('publishes a delayed will when the session expires first (delay bounded by session expiry) [MQTT-3.1.3-9]', async () => {
    await start();
    const watch = await watcher();
    const raw = await withWill('short', { properties: { willDelayInterval: 60 } }, { clean: false, properties: { sessionExpiryInterval: 1 } });
    const got = nextMessage(watch);
    raw.destroy();
    expect((await within(got, 3000, 'will at session end')).payload.toString()).toBe('gone:short');
  });

  it('does not publish a delayed will when the client reconnects before the delay [MQTT-3.1.3-9]', async () => {
    await start();
    const watch = await watcher();
    const session = { clean: false, properties: { sessionExpiryInterval: 60 } };
    const first = await withWill('comeback', { payload: Buffer.from('first'), properties: { willDelayInterval: 1 } }, session);
    first.destroy();
    await first.closed;
    // reconnect at once; this connection's own will (same delay) goes out when it drops
    const second = await withWill('comeback', { payload: Buffer.from('second'), properties: { willDelayInterval: 1 } }, session);
    const got = nextMessage(watch);
    second.destroy();
    // had the first will not been cancelled, its earlier timer would have fired first
    expect((await within(got, 3000, 'second will')).payload.toString()).toBe('second');
  });

  it('stores a retained will as a retained message [MQTT-3.1.2-17]', async () => {
    const running = await start();
    const raw = await withWill('keeper', { retain: true, payload: Buffer.from('offline') });
    const watch = await watcher();
    const got = nextMessage(watch);
    raw.destroy();
    await within(got, 5000, 'will');
    expect(running.broker.stats().retained).toBe(1);
    const late = await running.connect({ protocolVersion: 5, clientId: 'late' });
    const retained = nextMessage(late);
    await late.subscribeAsync('will/keeper', { qos: 1 });
    const { payload, packet } = await retained;
    expect(payload.toString()).toBe('offline');
    expect(packet.retain).toBe(true);
  });

  it('publishes the old connection will on session takeover [MQTT-3.1.4-3]', async () => {
    await start();
    const watch = await watcher();
    await withWill('taken');
    const got = nextMessage(watch);
    const next = await open(5);
    expect((await next.connect({ clientId: 'taken' })).reasonCode).toBe(ReasonCode.Success);
    const { topic, payload } = await within(got, 5000, 'will on takeover');
    expect(topic).toBe('will/taken');
    expect(payload.toString()).toBe('gone:taken');
  });

  it('does not publish a delayed will on takeover that resumes the session [MQTT-3.1.3-9]', async () => {
    await start();
    const watch = await watcher();
    const session = { clean: false, properties: { sessionExpiryInterval: 60 } };
    await withWill('taken2', { payload: Buffer.from('first'), properties: { willDelayInterval: 1 } }, session);
    const second = await withWill('taken2', { payload: Buffer.from('second'), properties: { willDelayInterval: 1 } }, session);
    const got = nextMessage(watch);
    second.destroy();
    expect((await within(got, 3000, 'second will')).payload.toString()).toBe('second');
  });

  it('keeps a pending delayed will across an in-process restart on the same store [MQTT-3.1.3-9]', async () => {
    const store = new MemoryBrokerStore();
    let running = await start({ store });
    await withWill('survivor', { properties: { willDelayInterval: 1 } }, { clean: false, properties: { sessionExpiryInterval: 60 } });
    await running.stop(); // the broker closes the connection (0x8B): the will is pending, not yet due
    running = await start({ store });
    const watch = await watcher();
    const got = nextMessage(watch);
    const { topic, payload } = await within(got, 3000, 'will after restart');
    expect(topic).toBe('will/survivor');
    expect(payload.toString()).toBe('gone:survivor');
  });
});
