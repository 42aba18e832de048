/**
 * Shared subscriptions and sessions across the frontends of a cluster (issue 15, acceptance 2 and
 * 3): 3 frontends on 3 Redis masters x 1 replica.
 */
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterClients, PROBE, routed, until } from '../../helpers/cluster-clients.js';
import { startInProcessCluster, type InProcessCluster } from '../../helpers/cluster-in-process.js';

let cluster: InProcessCluster;
const { connectSession, endAll } = clusterClients(() => cluster);

beforeAll(async () => {
  cluster = await startInProcessCluster({ frontends: 3 });
}, 60_000);

afterAll(async () => {
  endAll();
  await cluster?.stop();
});

/** Publishes `count` QoS 1 messages (payload = index), `window` in flight at a time. */
async function publishMany(pub: MqttClient, topic: string, count: number, window = 200): Promise<void> {
  for (let i = 0; i < count; i += window) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(count, i + window); j++) batch.push(pub.publishAsync(topic, String(j), { qos: 1 }));
    await Promise.all(batch);
  }
}

describe('shared subscriptions across frontends', () => {
  it('6 members on 3 frontends share 6,000 messages round robin: 1,000 +- 1 each', async () => {
    const counts = new Map<string, number>();
    const probes = new Map<string, number>();
    for (let i = 0; i < 6; i++) {
      const id = `g-member-${i}`;
      counts.set(id, 0);
      probes.set(id, 0);
      const { client } = await connectSession(i % 3, { clientId: id });
      client.on('message', (_topic, payload) => {
        if (payload.toString() === PROBE) probes.set(id, (probes.get(id) ?? 0) + 1);
        else counts.set(id, (counts.get(id) ?? 0) + 1);
      });
      await client.subscribeAsync('$share/workers/jobs/+', { qos: 1 });
    }
    const { client: pub } = await connectSession(0, { clientId: 'g-pub' });
    // Every member has had a probe: every frontend's members are in the publisher's view.
    await routed(pub, 'jobs/probe', () => [...probes.values()].every((n) => n > 0));
    await publishMany(pub, 'jobs/x', 6000);
    await until('6,000 deliveries', () => [...counts.values()].reduce((a, b) => a + b, 0) >= 6000);
    for (const [id, n] of counts) expect(n, id).toBeGreaterThanOrEqual(999);
    for (const [id, n] of counts) expect(n, id).toBeLessThanOrEqual(1001);
  });
});

describe('sessions across frontends', () => {
  it('a persistent session moves from frontend A to B with 10,000 QoS 1 messages, all in order; a connect on C takes it over with 0x8E', async () => {
    const options: IClientOptions = { clientId: 'mover', clean: false, properties: { sessionExpiryInterval: 600 } };
    let probed = false;
    const { client: first } = await connectSession(0, options, (c) => c.on('message', () => (probed = true)));
    await first.subscribeAsync('mv/t', { qos: 1 });
    const { client: pub } = await connectSession(1, { clientId: 'mv-pub' });
    await routed(pub, 'mv/t', () => probed);
    await first.endAsync();
    await publishMany(pub, 'mv/t', 10_000);

    const got: number[] = [];
    const { client: onB, sessionPresent } = await connectSession(1, options, (c) =>
      c.on('message', (_topic, payload) => {
        const text = payload.toString();
        if (text !== PROBE) got.push(Number(text));
      }),
    );
    expect(sessionPresent).toBe(true);
    await until('10,000 messages on B', () => got.length >= 10_000, 60_000);
    expect(got.length).toBe(10_000);
    expect(got.every((n, i) => n === i)).toBe(true);

    const reason = new Promise<number | undefined>((resolve) => onB.once('disconnect', (packet) => resolve(packet.reasonCode)));
    const { sessionPresent: onC } = await connectSession(2, options);
    expect(onC).toBe(true);
    expect(await reason).toBe(0x8e);
  }, 120_000);
});
