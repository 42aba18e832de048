/**
 * Cluster routing across frontends (issue 15, acceptance 1): publisher and subscriber on different
 * frontends of a 3-frontend cluster on 3 Redis masters x 1 replica.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterClients, collect, routed, until } from '../../helpers/cluster-clients.js';
import { startInProcessCluster, type InProcessCluster } from '../../helpers/cluster-in-process.js';

let cluster: InProcessCluster;
const { connect, endAll } = clusterClients(() => cluster);

beforeAll(async () => {
  cluster = await startInProcessCluster({ frontends: 3 });
}, 60_000);

afterAll(async () => {
  endAll();
  await cluster?.stop();
});

describe('cluster routing across frontends', () => {
  it('QoS 0, 1 and 2 reach a v5 subscriber on another frontend, through a wildcard', async () => {
    const sub = await connect(1, { clientId: 'r-sub-1' });
    const got = collect(sub);
    await sub.subscribeAsync('r1/+/x', { qos: 2 });
    const pub = await connect(0, { clientId: 'r-pub-1' });
    await routed(pub, 'r1/probe/x', () => got.probes > 0);
    await pub.publishAsync('r1/a/x', 'q0', { qos: 0 });
    await pub.publishAsync('r1/b/x', 'q1', { qos: 1 });
    await pub.publishAsync('r1/c/x', 'q2', { qos: 2 });
    await until('three messages', () => got.messages.length >= 3);
    expect(got.messages.map((m) => [m.topic, m.payload, m.qos])).toEqual([
      ['r1/a/x', 'q0', 0],
      ['r1/b/x', 'q1', 1],
      ['r1/c/x', 'q2', 2],
    ]);
  });

  it('MQTT 3.1.1 publisher and subscriber on different frontends', async () => {
    const sub = await connect(2, { clientId: 'r-sub-v4', protocolVersion: 4 });
    const got = collect(sub);
    await sub.subscribeAsync('r2/#', { qos: 1 });
    const pub = await connect(0, { clientId: 'r-pub-v4', protocolVersion: 4 });
    await routed(pub, 'r2/probe', () => got.probes > 0);
    await pub.publishAsync('r2/a/b', 'v4', { qos: 1 });
    await until('the message', () => got.messages.length >= 1);
    expect(got.messages[0]).toMatchObject({ topic: 'r2/a/b', payload: 'v4', qos: 1 });
  });

  it('a retained message is visible from every frontend, also one started later', async () => {
    const pub = await connect(0, { clientId: 'r-pub-ret' });
    await pub.publishAsync('r3/status', 'up', { qos: 1, retain: true });
    for (const i of [1, 2]) await until(`frontend ${i} to hold it`, () => cluster.frontends[i]!.broker.stats().retained >= 1);
    for (const i of [0, 1, 2]) {
      const sub = await connect(i, { clientId: `r-ret-${i}` });
      const got = collect(sub);
      await sub.subscribeAsync('r3/+', { qos: 1 });
      await until(`the retained message on frontend ${i}`, () => got.messages.length >= 1);
      expect(got.messages[0]).toMatchObject({ topic: 'r3/status', payload: 'up', retain: true });
    }
    const later = await cluster.addFrontend();
    const sub = await connect(cluster.frontends.indexOf(later), { clientId: 'r-ret-later' });
    const got = collect(sub);
    await sub.subscribeAsync('r3/status', { qos: 1 });
    await until('the retained message on a frontend started later', () => got.messages.length >= 1);
    expect(got.messages[0]).toMatchObject({ payload: 'up', retain: true });
    // Cleared from one frontend: gone on the others.
    await pub.publishAsync('r3/status', '', { qos: 1, retain: true });
    for (const i of [1, 2]) await until(`frontend ${i} to drop it`, () => cluster.frontends[i]!.broker.stats().retained === 0);
  });

  it('No Local holds across frontends: the publisher does not get its own message, others do', async () => {
    const other = await connect(1, { clientId: 'r-nl-other' });
    const otherGot = collect(other);
    await other.subscribeAsync('r4/t', { qos: 1 });
    const self = await connect(0, { clientId: 'r-nl-self' });
    const selfGot = collect(self);
    await self.subscribeAsync('r4/t', { qos: 1, nl: true });
    await routed(self, 'r4/t', () => otherGot.probes > 0);
    await self.publishAsync('r4/t', 'mine', { qos: 1 });
    await until('the other subscriber', () => otherGot.messages.length >= 1);
    // A round trip after the message: anything for `self` would have come before its PINGRESP-like PUBACK of a second publish.
    await self.publishAsync('r4/barrier', 'x', { qos: 1 });
    expect(otherGot.messages[0]).toMatchObject({ payload: 'mine' });
    expect(selfGot.messages).toEqual([]);
  });

  it('message expiry holds across frontends: the interval left is passed on, an expired message is not delivered', async () => {
    const sub = await connect(1, { clientId: 'r-exp', clean: false, properties: { sessionExpiryInterval: 300 } });
    const got = collect(sub);
    await sub.subscribeAsync('r5/t', { qos: 1 });
    const pub = await connect(0, { clientId: 'r-exp-pub' });
    await routed(pub, 'r5/t', () => got.probes > 0);
    await sub.endAsync();
    await pub.publishAsync('r5/t', 'short', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.publishAsync('r5/t', 'long', { qos: 1, properties: { messageExpiryInterval: 100 } });
    await new Promise((resolve) => setTimeout(resolve, 1200)); // the time for 'short' to expire (not synchronisation)
    const received: { payload: string; expiry: number | undefined }[] = [];
    const again = await connect(1, { clientId: 'r-exp', clean: false, properties: { sessionExpiryInterval: 300 } }, (c) =>
      c.on('message', (_t, payload, packet) => received.push({ payload: payload.toString(), expiry: packet.properties?.messageExpiryInterval })),
    );
    await until('the long-lived message', () => received.length >= 1);
    await again.publishAsync('r5/barrier', 'x', { qos: 1 });
    expect(received.map((m) => m.payload)).toEqual(['long']);
    expect(received[0]!.expiry).toBeLessThan(100);
  });
});

