import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REQUEST_TOPIC, STATE_STORE_ID } from '../../../src/shared/state-store-wire.js';
import { startStateStore, type StateStoreService } from '../../../src/services/state-store/state-store-service.js';
import { StateStoreTestClient, within } from '../../helpers/state-store-client.js';
import { nextMessage, startBroker, type RunningBroker } from '../../helpers/start-broker.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const SPY_MARKER = `clients/statestore/v1/${STATE_STORE_ID}/spy-marker`;

/** Publishes a marker through the spy's filter and waits for it: everything published before has reached the spy. */
async function spyMarker(spy: MqttClient): Promise<void> {
  const seen = within(
    new Promise<void>((resolve) => spy.on('message', (topic) => topic === SPY_MARKER && resolve())),
    2000,
    'spy marker',
  );
  await spy.publishAsync(SPY_MARKER, 'm', { qos: 1 });
  await seen;
}
let running: RunningBroker;
let service: StateStoreService;

beforeAll(async () => {
  running = await startBroker();
  service = startStateStore(running.broker, { maxRequestBytes: 100_000 });
});
afterAll(async () => {
  service.stop();
  await running.stop();
});

describe('state store service', () => {
  it('answers a client subscribed with No Local (responses and notifications are not "its own")', async () => {
    const c = await StateStoreTestClient.connect(running, undefined, true);
    await c.invoke(['KEYNOTIFY', 'nl']);
    expect((await c.invoke(['SET', 'nl', 'v'])).text).toBe('+OK\r\n');
    expect((await c.nextNotification()).topic).toBe(c.notifyTopic('nl'));
  });

  it('answers a duplicate request (same client, same correlation data) from the cache without executing it again', async () => {
    const c = await StateStoreTestClient.connect(running);
    await c.invoke(['KEYNOTIFY', 'dup']);
    const correlationData = b('0123456789ABCDEF');
    const first = await c.invoke(['SET', 'dup', 'v', 'NX'], undefined, { correlationData });
    const again = await c.invoke(['SET', 'dup', 'v', 'NX'], undefined, { correlationData });
    expect([first.text, again.text]).toEqual(['+OK\r\n', '+OK\r\n']);
    expect(again.ts).toBe(first.ts);
    expect(again.packet.properties?.correlationData).toEqual(correlationData);
    // another client with the same correlation data is a different request
    const other = await StateStoreTestClient.connect(running);
    expect((await other.invoke(['SET', 'dup', 'v', 'NX'], undefined, { correlationData })).text).toBe(':-1\r\n');
    await c.invoke(['KEYNOTIFY', 'dup-marker']);
    await c.invoke(['SET', 'dup-marker', 'm']);
    expect((await c.nextNotification()).topic).toBe(c.notifyTopic('dup'));
    expect((await c.nextNotification()).topic).toBe(c.notifyTopic('dup-marker'));
  });

  it('replies -ERR syntax error to malformed payloads and keeps serving', async () => {
    const c = await StateStoreTestClient.connect(running);
    const bad = ['', 'hello', '*', '*0\r\n', '*1\r\n', '*2\r\n$3\r\nGET\r\n$5\r\nab\r\n', '*1\r\n$-1\r\n', '*1\r\n:1\r\n', '*999999999999999999999\r\n', '*1\r\n$3\r\nGET\r\nxx'];
    for (const payload of bad) expect([payload, (await c.invoke(b(payload))).text]).toEqual([payload, '-ERR syntax error\r\n']);
    const random = Buffer.alloc(512);
    for (let i = 0; i < random.length; i++) random[i] = (i * 7919) & 0xff;
    expect((await c.invoke(random)).text).toBe('-ERR syntax error\r\n');
    expect((await c.invoke(Buffer.alloc(100_001, 0x2a))).text).toBe('-ERR the quota has been exceeded\r\n');
    expect((await c.invoke(['SET', 'alive', 'yes'])).text).toBe('+OK\r\n');
    expect((await c.invoke(['GET', 'alive'])).text).toBe('$3\r\nyes\r\n');
  });

  it('drops requests that are not QoS 1 or have no response topic', async () => {
    const c = await StateStoreTestClient.connect(running);
    const spy = await running.connect({ protocolVersion: 5 });
    await spy.subscribeAsync(`clients/statestore/v1/${STATE_STORE_ID}/#`, { qos: 1 });
    await spy.subscribeAsync(REQUEST_TOPIC, { qos: 1 });
    const spied: string[] = [];
    spy.on('message', (topic) => spied.push(topic));
    const payload = b('*3\r\n$3\r\nSET\r\n$2\r\nq0\r\n$1\r\nv\r\n');
    const ignored = [c.invoke(payload, undefined, { qos: 0 }), c.invoke(payload, undefined, { qos: 2 })];
    for (const p of ignored) p.catch(() => undefined);
    c.client.publish(REQUEST_TOPIC, payload, { qos: 1, properties: { correlationData: b('no-response-topi') } });
    const marker = await c.invoke(['GET', 'q0']);
    expect(marker.text).toBe('$-1\r\n');
    expect(c.responses).toHaveLength(1);
    expect(c.client.connected).toBe(true);
    await spyMarker(spy);
    // the spy sees the requests themselves (ordinary routing) and nothing else
    expect(spied.filter((t) => t !== SPY_MARKER && t !== REQUEST_TOPIC)).toEqual([]);
    expect(spied.filter((t) => t === REQUEST_TOPIC).length).toBe(4);
    await spy.endAsync();
  });

  it('disconnects a client whose response topic is forbidden (0x82), publishing nothing there (state-store-protocol.md §1.1)', async () => {
    const spy = await running.connect({ protocolVersion: 5 });
    await spy.subscribeAsync(`clients/statestore/v1/${STATE_STORE_ID}/#`, { qos: 1 });
    await spy.subscribeAsync(REQUEST_TOPIC, { qos: 1 });
    const spied: string[] = [];
    spy.on('message', (topic) => spied.push(topic));
    const forbidden = [REQUEST_TOPIC, `clients/statestore/v1/${STATE_STORE_ID}`, `clients/statestore/v1/${STATE_STORE_ID}/x/command/notify/y`];
    for (const responseTopic of forbidden) {
      const c = await StateStoreTestClient.connect(running);
      const disconnected = within(
        new Promise<number | undefined>((resolve) => c.client.once('disconnect', (packet) => resolve(packet.reasonCode))),
        5000,
        'DISCONNECT',
      );
      const closed = within(new Promise<void>((resolve) => c.client.once('close', () => resolve())), 5000, 'close');
      c.invoke(['SET', 'forbidden', 'v'], undefined, { responseTopic }).catch(() => undefined);
      expect([responseTopic, await disconnected]).toEqual([responseTopic, 0x82]);
      await closed;
      expect(c.responses).toEqual([]);
    }
    // nothing was executed: the key does not exist
    const other = await StateStoreTestClient.connect(running);
    expect((await other.invoke(['GET', 'forbidden'])).text).toBe('$-1\r\n');
    await spyMarker(spy);
    // the spy sees the three requests, never a response on a forbidden topic (nor a request loop)
    expect(spied.filter((t) => t !== SPY_MARKER)).toEqual([REQUEST_TOPIC, REQUEST_TOPIC, REQUEST_TOPIC, REQUEST_TOPIC]);
    await spy.endAsync();
  });

  it('replies __stat=505 to an unsupported protocol major version', async () => {
    const c = await StateStoreTestClient.connect(running);
    const reply = await c.invoke(['GET', 'k'], { __ts: `${Date.now()}:0:c`, __protVer: '2.0' });
    expect(reply.stat).toBe('505');
    expect(reply.payload.length).toBe(0);
    expect(reply.packet.properties?.userProperties?.['__supProtMajVer']).toBe('1');
    expect(reply.packet.properties?.userProperties?.['__requestProtVer']).toBe('2.0');
  });

  it('keeps the broker serving ordinary MQTT traffic and counts keys', async () => {
    const sub = await running.connect({ protocolVersion: 5 });
    await sub.subscribeAsync('plain/t', { qos: 1 });
    const got = nextMessage(sub);
    const pub = await running.connect({ protocolVersion: 5 });
    await pub.publishAsync('plain/t', 'hi', { qos: 1 });
    expect((await within(got)).payload.toString()).toBe('hi');
    expect(service.keyCount).toBeGreaterThan(0);
  });
});
