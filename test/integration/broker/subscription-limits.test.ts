import mqttPacket, { type ISubackPacket, type ISubscription, type Packet } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { pingBarrier } from '../../helpers/bad-input.js';
import { RawClient } from '../../helpers/raw-client.js';
import { useBroker } from '../../helpers/start-broker.js';

const brokers = useBroker();
const raws: RawClient[] = [];
afterEach(() => {
  for (const raw of raws.splice(0)) raw.destroy();
});

async function client(version: 4 | 5, clientId: string): Promise<RawClient> {
  const raw = await RawClient.open(brokers.current().port, version);
  raws.push(raw);
  await raw.connect({ clientId });
  return raw;
}

const filters = (count: number, prefix = 'f'): ISubscription[] => Array.from({ length: count }, (_, i) => ({ topic: `${prefix}/${i}`, qos: 1 as const }));
const subscribeBytes = (messageId: number, subscriptions: ISubscription[], version: 4 | 5 = 5): Buffer =>
  mqttPacket.generate({ cmd: 'subscribe', messageId, subscriptions }, { protocolVersion: version });

describe('subscriptions per client', () => {
  it('refuses filters past the limit with SUBACK 0x97 each, still grants a replaced subscription, and counts the refusals', async () => {
    const running = await brokers.start({ connectionLimits: { maxSubscriptionsPerClient: 3 } });
    const raw = await client(5, 'limited');
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: filters(5) });
    expect(await raw.next()).toMatchObject({ cmd: 'suback', messageId: 1, granted: [1, 1, 1, 0x97, 0x97] });
    raw.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'f/0', qos: 0 }, { topic: 'g', qos: 0 }] });
    expect(await raw.next()).toMatchObject({ cmd: 'suback', messageId: 2, granted: [0, 0x97] });
    const stats = running.broker.stats();
    expect(stats.subscriptions).toBe(3);
    expect(stats.limits.subscriptionsRefused).toBe(3);
    raw.send({ cmd: 'unsubscribe', messageId: 3, unsubscriptions: ['f/1'] });
    await raw.next();
    raw.send({ cmd: 'subscribe', messageId: 4, subscriptions: [{ topic: 'g', qos: 0 }] });
    expect(await raw.next()).toMatchObject({ cmd: 'suback', granted: [0] }); // room again after an UNSUBSCRIBE
  });

  it('refuses them with 0x80 on MQTT 3.1.1', async () => {
    await brokers.start({ connectionLimits: { maxSubscriptionsPerClient: 2 } });
    const raw = await client(4, 'limited-311');
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: filters(3) });
    expect(await raw.next()).toMatchObject({ cmd: 'suback', granted: [1, 1, 0x80] });
  });

  it('applies a limit lowered live to the next SUBSCRIBE of an open connection', async () => {
    const running = await brokers.start();
    const raw = await client(5, 'live');
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: filters(2) });
    expect(await raw.next()).toMatchObject({ granted: [1, 1] });
    running.broker.setConnectionLimits({ maxSubscriptionsPerClient: 2 });
    raw.send({ cmd: 'subscribe', messageId: 2, subscriptions: filters(1, 'h') });
    expect(await raw.next()).toMatchObject({ granted: [0x97] });
  });
});

describe('large SUBSCRIBEs handled in slices', () => {
  it('later packets of the connection wait for the SUBACK; SUBACKs keep their order; retained messages follow the SUBACK', async () => {
    const running = await brokers.start();
    await running.broker.publish({ topic: 'f/7', payload: Buffer.from('kept'), qos: 1, retain: true });
    const raw = await client(5, 'big');
    const first = filters(20_000);
    const second = filters(3000, 'g');
    raw.sendBytes(
      Buffer.concat([
        subscribeBytes(1, first),
        subscribeBytes(2, second),
        mqttPacket.generate({ cmd: 'publish', topic: 'g/5', payload: Buffer.from('after'), qos: 1, messageId: 9, retain: false, dup: false }, { protocolVersion: 5 }),
      ]),
    );
    const got: Packet[] = [...(await pingBarrier(raw, 30_000))];
    expect(got[0]).toMatchObject({ cmd: 'suback', messageId: 1 });
    const suback1 = got[0] as ISubackPacket;
    expect(suback1.granted).toHaveLength(20_000);
    expect(suback1.granted.slice(0, 10_000).every((g) => g === 1)).toBe(true); // default limit 10000
    expect(suback1.granted.slice(10_000).every((g) => g === 0x97)).toBe(true);
    const order = got.map((p) => (p.cmd === 'publish' ? `publish ${p.topic}` : p.cmd === 'suback' ? `suback ${p.messageId}` : p.cmd));
    // The retained f/7 follows SUBACK 1; SUBACK 2 (all 0x97: the limit is reached) precedes the PUBLISH's PUBACK.
    expect(order.indexOf('publish f/7')).toBeGreaterThan(order.indexOf('suback 1'));
    expect(order.indexOf('suback 2')).toBeGreaterThan(order.indexOf('suback 1'));
    expect(order.indexOf('puback')).toBeGreaterThan(order.indexOf('suback 2'));
    expect((got.find((p) => p.cmd === 'suback' && p.messageId === 2) as ISubackPacket).granted.every((g) => g === 0x97)).toBe(true);
    expect(running.broker.stats().subscriptions).toBe(10_000);
  });

  it('a malformed filter late in a large SUBSCRIBE refuses the whole packet (DISCONNECT 0x81) before any filter is applied', async () => {
    const running = await brokers.start();
    const raw = await client(5, 'late-malformed');
    const bytes = subscribeBytes(1, filters(5000));
    bytes[bytes.length - 1] = 0xc0; // reserved option bits of the last filter [MQTT-3.8.3-5]
    raw.sendBytes(bytes);
    expect(await raw.next(30_000)).toMatchObject({ cmd: 'disconnect', reasonCode: 0x81 });
    expect(running.broker.stats().subscriptions).toBe(0);
  });

  it('No Local on a shared filter late in a large SUBSCRIBE is a Protocol Error (0x82), nothing applied [MQTT-3.8.3-4]', async () => {
    const running = await brokers.start();
    const raw = await client(5, 'late-shared');
    raw.sendBytes(subscribeBytes(1, [...filters(5000), { topic: '$share/g/x', qos: 0, nl: true }]));
    expect(await raw.next(30_000)).toMatchObject({ cmd: 'disconnect', reasonCode: 0x82 });
    expect(running.broker.stats().subscriptions).toBe(0);
  });

  it('an error in a later slice ends only that client, in the connection error boundary: DISCONNECT 0x83, counted as internal', async () => {
    const running = await brokers.start({
      hooks: {
        authorizeSubscribe: (_identity: unknown, filter: string) => {
          if (filter === 'f/0') {
            // Outlasts the slice, so that the filters after the next look at the clock are applied in later slices.
            const until = performance.now() + 10;
            while (performance.now() < until);
          }
          if (filter === 'f/4999') throw new Error('authorization backend failed');
          return true;
        },
      },
    });
    const raw = await client(5, 'faulty-slice');
    raw.sendBytes(subscribeBytes(1, filters(5000)));
    expect(await raw.next(30_000)).toMatchObject({ cmd: 'disconnect', reasonCode: 0x83 });
    expect(running.broker.stats().internalErrors).toBe(1);
    const other = await client(5, 'other');
    other.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'x', qos: 0 }] });
    expect(await other.next(30_000)).toMatchObject({ cmd: 'suback', granted: [0] });
  });

  it('a client that goes away in the middle of a large SUBSCRIBE leaves the broker serving others', async () => {
    await brokers.start();
    const raw = await client(5, 'vanishing');
    raw.sendBytes(subscribeBytes(1, filters(20_000)));
    raw.destroy();
    const other = await client(5, 'other');
    other.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'x', qos: 0 }] });
    expect(await other.next(30_000)).toMatchObject({ cmd: 'suback', granted: [0] });
  });
});
