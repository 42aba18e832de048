/**
 * Issue 15, acceptance 2 (second half): a shared subscription with 6 persistent members on 3
 * frontend processes; the frontend of two members is killed with `kill -9` while they hold
 * unacknowledged deliveries: those reach the other members, and nothing is lost.
 */
import type { IClientOptions } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterClients, until } from '../helpers/cluster-clients.js';
import { startFrontends, type ClusterFrontends } from '../helpers/cluster-frontends.js';
import { rawConnect, rawSubscribe } from '../helpers/pubsub.js';
import type { RawClient } from '../helpers/raw-client.js';

let cluster: ClusterFrontends;
const { connect, endAll } = clusterClients(() => cluster);
const raws: RawClient[] = [];

beforeAll(async () => {
  cluster = await startFrontends({ frontends: 3, persistence: { maxSize: '500M', subscriberQueue: { mode: 'All' }, retain: { mode: 'All' } } });
}, 90_000);

afterAll(async () => {
  endAll();
  for (const r of raws) r.destroy();
  await cluster?.stop();
});

describe('shared subscription members on a killed frontend', () => {
  it("the members' unacknowledged deliveries reach the other members; nothing is lost", async () => {
    const received = new Map<string, Set<string>>(); // member -> payloads
    const stuck = new Map<string, number>(); // members that never acknowledge -> deliveries held
    for (let i = 0; i < 6; i++) {
      const id = `sk-member-${i}`;
      const frontend = i % 3;
      if (frontend === 1) {
        // Members on the frontend to be killed take deliveries and never acknowledge them (raw clients).
        const raw = await rawConnect(cluster.frontends[1]!.port, 5, { clientId: id, clean: false, properties: { sessionExpiryInterval: 600 } });
        raws.push(raw);
        await rawSubscribe(raw, [{ topic: '$share/sk/jobs', qos: 1 }]);
        stuck.set(id, 0);
        void (async () => {
          for (;;) {
            const packet = await raw.next(600_000);
            if (packet === undefined) return;
            if (packet.cmd === 'publish') stuck.set(id, (stuck.get(id) ?? 0) + 1);
          }
        })();
        continue;
      }
      const options: IClientOptions = { clientId: id, clean: false, properties: { sessionExpiryInterval: 600 } };
      received.set(id, new Set());
      const client = await connect(frontend, options, (c) => c.on('message', (_topic, payload) => received.get(id)?.add(payload.toString())));
      await client.subscribeAsync('$share/sk/jobs', { qos: 1 });
    }
    const pub = await connect(0, { clientId: 'sk-pub' });
    // Every member is in the publisher's view once each has had a message: probes (QoS 1, counted below).
    const probes = new Set<string>();
    await until('every member routed', () => {
      const n = probes.size;
      probes.add(`probe-${n}`);
      pub.publish('jobs', `probe-${n}`, { qos: 1 });
      return [...received.values()].every((s) => s.size > 0) && [...stuck.values()].every((n) => n > 0);
    }, 60_000, 20);
    const total = 6000;
    const payloads = Array.from({ length: total }, (_, i) => `m-${i}`);
    for (let i = 0; i < total; i += 200) await Promise.all(payloads.slice(i, i + 200).map((p) => pub.publishAsync('jobs', p, { qos: 1 })));
    await until('the stuck members to hold their share', () => [...stuck.values()].reduce((a, b) => a + b, 0) >= (2 * total) / 6 - 2, 60_000);
    const held = [...stuck.values()].reduce((a, b) => a + b, 0);
    await cluster.frontends[1]!.kill9();
    const all = (): Set<string> => new Set([...received.values()].flatMap((s) => [...s]));
    await until('every message at a healthy member', () => {
      const now = all();
      return payloads.every((p) => now.has(p));
    }, 90_000);
    console.info(`shared kill: ${held} deliveries held unacknowledged by the killed frontend's members, all ${total} messages reached the other members`);
    const final = all();
    expect(payloads.filter((p) => !final.has(p))).toEqual([]);
  }, 240_000);
});
