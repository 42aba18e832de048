/**
 * Whole-backend restart with persistence (issue 15, acceptance 6): 3 real `ops-broker` frontends on
 * 3 Redis masters x 1 replica (AOF on), a persistence policy that persists some data and not the
 * rest (subscriberQueue Custom `disk-*`, retain Custom `keep/#`, stateStore Custom `keep-*`),
 * encryption on (the instances' 32-byte store key). Every frontend is stopped, every Redis node is
 * killed and started again on its dir, the frontends start again: persisted sessions, queues,
 * retained messages and state-store keys come back, policy-None data does not, and the payload
 * canaries are in no file of any node (AOF, RDB, nodes.conf).
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portOf } from '../helpers/cli-ops.js';
import { filesContaining, persistent, record, type Received } from '../helpers/cli-persistence.js';
import { startFrontends, type ClusterFrontends } from '../helpers/cluster-frontends.js';
import { StateStoreTestClient } from '../helpers/state-store-client.js';

let cluster: ClusterFrontends;
/** Each frontend's plain MQTT port now (a restart picks new ones: the listeners were created on port 0). */
const ports: number[] = [];
const opened: MqttClient[] = [];

const PAYLOAD_CANARY = 'CANARYPAYLOAD4f1c9e';
const RETAINED_CANARY = 'CANARYRETAINED77ab';
const STATE_CANARY = 'CANARYSTATEVALUE52d0';
const FORWARD_CANARY = 'CANARYINBOX0e11';
/** In a client id, and in a subscription filter and topic (the subscription directory holds both). */
const CLIENT_CANARY = 'CANARYCLIENTID3b7d';
const TOPIC_CANARY = 'CANARYTOPIC9c24';

beforeAll(async () => {
  cluster = await startFrontends({
    frontends: 3,
    persistence: {
      maxSize: '1Gi',
      subscriberQueue: { mode: 'Custom', subscriberQueueSettings: { subscriberClientIds: ['disk-*'] } },
      retain: { mode: 'Custom', retainSettings: { topics: ['keep/#'] } },
      stateStore: { mode: 'Custom', stateStoreSettings: { stateStoreResources: [{ keyType: 'Pattern', keys: ['keep-*'] }] } },
    },
  });
  for (const f of cluster.frontends) ports.push(f.port);
}, 90_000);

afterAll(async () => {
  for (const c of opened) c.end(true);
  await cluster?.stop();
});

/** A state store client on frontend `index`, once the cluster's state store (its elected leader) serves it. */
async function stateStore(index: number): Promise<StateStoreTestClient> {
  const client = await StateStoreTestClient.connect({
    connect: async (options?: IClientOptions) => {
      const client = await mqtt.connectAsync({ host: '127.0.0.1', port: ports[index]!, reconnectPeriod: 0, ...options });
      opened.push(client);
      return client;
    },
  } as Parameters<typeof StateStoreTestClient.connect>[0]);
  await client.untilServed(30_000);
  return client;
}

async function publish(index: number, messages: ReadonlyArray<[topic: string, payload: string, retain?: boolean]>): Promise<void> {
  const pub = await record(ports[index]!, `pub-${randomBytes(3).toString('hex')}`);
  for (const [topic, payload, retain] of messages) await pub.client.publishAsync(topic, payload, { qos: 1, retain: retain === true });
  await pub.end();
}

/** Retained messages under `filters` seen from frontend `index`, synchronised by a marker published afterwards on the same frontend. */
async function retainedUnder(index: number, filters: string[]): Promise<string[]> {
  const marker = `marker/${randomBytes(3).toString('hex')}`;
  const r = await record(ports[index]!, `ret-${randomBytes(3).toString('hex')}`);
  await r.client.subscribeAsync([...filters, marker], { qos: 1 });
  await publish(index, [[marker, 'MARKER']]);
  await r.until((got) => got.some((m) => m.payload === 'MARKER'));
  await r.end();
  return r.received.filter((m) => m.retain).map((m) => `${m.topic}=${m.payload}`).sort();
}

const payloads = (received: readonly Received[]): string[] => received.map((m) => m.payload);

describe('whole-backend restart with persistence (3 frontends, 3 masters x 1 replica, AOF)', () => {
  it('persisted sessions, queues, retained and state-store keys come back; policy-None data does not; no canary in any Redis file', async () => {
    // Offline persistent sessions on frontend 2: one with a persisted queue, one without.
    for (const id of ['disk-sub', 'mem-sub']) {
      const s = await persistent(ports[1]!, id);
      await s.client.subscribeAsync('t/q', { qos: 1 });
      await s.end();
    }
    // A live subscriber on frontend 3: the forwarded payload crosses its inbox.
    const live = await persistent(ports[2]!, `live-${CLIENT_CANARY}`);
    await live.client.subscribeAsync(`t/${TOPIC_CANARY}/#`, { qos: 1 });
    const queued = [0, 1, 2, 3, 4].map((i) => `QUEUED-${i}-${PAYLOAD_CANARY}`);
    await publish(0, [
      ...queued.map((p): [string, string] => ['t/q', p]),
      ['keep/r', `KEEP-${RETAINED_CANARY}`, true],
      ['drop/r', `DROP-${RETAINED_CANARY}`, true],
      [`t/${TOPIC_CANARY}/x`, `LIVE-${FORWARD_CANARY}`],
    ]);
    await live.until((got) => got.some((m) => m.payload === `LIVE-${FORWARD_CANARY}`));
    // Its session persistent: its subscription stays in the directory (and in its session record) through the restart.
    await live.end();
    expect(await retainedUnder(0, ['keep/#', 'drop/#'])).toEqual([`drop/r=DROP-${RETAINED_CANARY}`, `keep/r=KEEP-${RETAINED_CANARY}`]);
    const ss = await stateStore(0);
    expect((await ss.invoke(['SET', 'keep-k', `KEEP-${STATE_CANARY}`])).text).toBe('+OK\r\n');
    expect((await ss.invoke(['SET', 'drop-k', `DROP-${STATE_CANARY}`])).text).toBe('+OK\r\n');
    ss.client.end(true);

    // The whole backend goes down and comes back; the frontends with it.
    for (const f of cluster.frontends) await f.stop();
    for (const node of cluster.redis.nodes) await cluster.redis.killNode(node.port);
    await Promise.all(cluster.redis.nodes.map((node) => cluster.redis.restartNode(node.port)));
    await cluster.redis.waitHealthy();
    for (const canary of [PAYLOAD_CANARY, RETAINED_CANARY, STATE_CANARY, FORWARD_CANARY, CLIENT_CANARY, TOPIC_CANARY]) {
      expect(await filesContaining(cluster.redis.dir, canary), canary).toEqual([]);
    }
    // The canaries were written: the AOF holds the commands (sealed values), not nothing.
    expect((await filesContaining(cluster.redis.dir, 'XADD')).length).toBeGreaterThan(0);
    for (const [i, f] of cluster.frontends.entries()) {
      const started = await cluster.home.json<{ ports: Array<{ listener: string; port: number }> }>('broker', 'start', '--instance', f.name);
      ports[i] = portOf(started);
    }

    // Persisted: the queued session (on another frontend than before), retained keep/r, state key keep-k.
    const disk = await persistent(ports[2]!, 'disk-sub');
    expect(disk.sessionPresent).toBe(true);
    await disk.until((got) => got.length >= queued.length);
    expect(payloads(disk.received)).toEqual(queued);
    await disk.end();
    expect(await retainedUnder(0, ['keep/#', 'drop/#'])).toEqual([`keep/r=KEEP-${RETAINED_CANARY}`]);
    const after = await stateStore(1);
    expect((await after.invoke(['GET', 'keep-k'])).text).toBe(`$${`KEEP-${STATE_CANARY}`.length}\r\nKEEP-${STATE_CANARY}\r\n`);
    expect((await after.invoke(['GET', 'drop-k'])).text).toBe('$-1\r\n');
    // Not persisted: the session is (its metadata always is), its queued messages are not.
    const mem = await persistent(ports[0]!, 'mem-sub');
    expect(mem.sessionPresent).toBe(true);
    const marker = `MARKER-${randomBytes(3).toString('hex')}`;
    await publish(0, [['t/q', marker]]);
    await mem.until((got) => got.some((m) => m.payload === marker));
    expect(payloads(mem.received)).toEqual([marker]);
    await mem.end();
  }, 120_000);
});
