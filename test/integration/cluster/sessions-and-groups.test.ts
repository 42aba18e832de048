/**
 * Shared subscriptions and sessions across the frontends of a cluster (issue 15, acceptance 2 and
 * 3): 3 frontends on 3 Redis masters x 1 replica.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcessCluster, type InProcessCluster } from '../../helpers/cluster-in-process.js';

let cluster: InProcessCluster;
const clients: MqttClient[] = [];

beforeAll(async () => {
  cluster = await startInProcessCluster({ frontends: 3 });
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.end(true);
  await cluster?.stop();
});

/** Connects to a frontend; `before` runs before the CONNECT is answered (listeners for messages sent at once). */
async function connect(frontend: number, options: IClientOptions = {}, before?: (client: MqttClient) => void): Promise<{ client: MqttClient; sessionPresent: boolean }> {
  const client = mqtt.connect({ host: '127.0.0.1', port: cluster.frontends[frontend]!.port, protocolVersion: 5, reconnectPeriod: 0, ...options });
  clients.push(client);
  before?.(client);
  const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
    client.once('connect', (packet) => resolve(packet));
    client.once('error', reject);
  });
  return { client, sessionPresent: connack.sessionPresent };
}

async function until(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Publishes QoS 0 probes on `topic` until `seen()` is true: the subscription has reached the publisher's frontend. */
async function routed(pub: MqttClient, topic: string, seen: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!seen()) {
    if (Date.now() > deadline) throw new Error(`no route for ${topic}`);
    pub.publish(topic, 'probe', { qos: 0 });
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

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
      const { client } = await connect(i % 3, { clientId: id });
      client.on('message', (_topic, payload) => {
        if (payload.toString() === 'probe') probes.set(id, (probes.get(id) ?? 0) + 1);
        else counts.set(id, (counts.get(id) ?? 0) + 1);
      });
      await client.subscribeAsync('$share/workers/jobs/+', { qos: 1 });
    }
    const { client: pub } = await connect(0, { clientId: 'g-pub' });
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
    const { client: first } = await connect(0, options, (c) => c.on('message', () => (probed = true)));
    await first.subscribeAsync('mv/t', { qos: 1 });
    const { client: pub } = await connect(1, { clientId: 'mv-pub' });
    await routed(pub, 'mv/t', () => probed);
    await first.endAsync();
    await publishMany(pub, 'mv/t', 10_000);

    const got: number[] = [];
    const { client: onB, sessionPresent } = await connect(1, options, (c) =>
      c.on('message', (_topic, payload) => {
        const text = payload.toString();
        if (text !== 'probe') got.push(Number(text));
      }),
    );
    expect(sessionPresent).toBe(true);
    await until('10,000 messages on B', () => got.length >= 10_000, 60_000);
    expect(got.length).toBe(10_000);
    expect(got.every((n, i) => n === i)).toBe(true);

    const reason = new Promise<number | undefined>((resolve) => onB.once('disconnect', (packet) => resolve(packet.reasonCode)));
    const { sessionPresent: onC } = await connect(2, options);
    expect(onC).toBe(true);
    expect(await reason).toBe(0x8e);
  }, 120_000);
});
