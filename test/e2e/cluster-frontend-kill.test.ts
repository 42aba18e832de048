/**
 * Issue 15, acceptance 4: `kill -9` of a frontend mid-load (3 frontend processes, 3 Redis masters x 1
 * replica). QoS 1 publishers and a persistent subscriber on the killed frontend reconnect elsewhere:
 * every PUBACKed message is delivered, the will of a client connected to it is published, and
 * duplicates are counted and reported.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterClients, until } from '../helpers/cluster-clients.js';
import { startFrontends, type ClusterFrontends } from '../helpers/cluster-frontends.js';

let cluster: ClusterFrontends;
const { connect, endAll } = clusterClients(() => cluster);

beforeAll(async () => {
  cluster = await startFrontends({
    frontends: 3,
    persistence: { maxSize: '500M', subscriberQueue: { mode: 'All' }, retain: { mode: 'All' } },
    logLevel: 'info',
  });
}, 90_000);

afterAll(async () => {
  endAll();
  await cluster?.stop();
});

/**
 * Publishes `count` QoS 1 messages `<tag>-<i>` with `window` in flight, from the frontends in
 * `route` (the next one after a connection is lost; unacknowledged messages are sent again there).
 * Returns the acknowledged payloads as they come, and a promise of the end.
 */
function publishLoad(tag: string, count: number, route: number[], window = 100): { acked: Set<string>; done: Promise<void> } {
  const acked = new Set<string>();
  const done = (async () => {
    let next = 0;
    for (const frontend of route) {
      let client: MqttClient;
      try {
        client = await connect(frontend, { clientId: `${tag}-pub-${frontend}` });
      } catch {
        continue;
      }
      const pending = new Set<number>();
      for (let i = 0; i < count; i++) if (!acked.has(`${tag}-${i}`)) pending.add(i);
      const lost = new Promise<void>((resolve) => client.once('close', () => resolve()));
      let broken = false;
      void lost.then(() => (broken = true));
      const queue = [...pending];
      next = 0;
      const worker = async (): Promise<void> => {
        while (!broken && next < queue.length) {
          const i = queue[next++] as number;
          try {
            await client.publishAsync('k/data', `${tag}-${i}`, { qos: 1 });
            acked.add(`${tag}-${i}`);
          } catch {
            return;
          }
        }
      };
      await Promise.race([Promise.all(Array.from({ length: window }, worker)), lost]);
      if (acked.size >= count) {
        client.end(true);
        return;
      }
    }
    throw new Error(`${tag}: ${count - acked.size} messages never acknowledged`);
  })();
  return { acked, done };
}

describe('kill -9 of a frontend mid-load', () => {
  it('every PUBACKed message reaches the persistent subscriber, which reconnects elsewhere; the will is published; duplicates reported', async () => {
    const received = new Map<string, number>();
    const record = (client: MqttClient): void => {
      client.on('message', (topic, payload) => {
        if (topic !== 'k/data') return;
        const text = payload.toString();
        received.set(text, (received.get(text) ?? 0) + 1);
      });
    };
    const subOptions: IClientOptions = { clientId: 'k-sub', clean: false, properties: { sessionExpiryInterval: 600 } };
    // The subscriber and a client with a will are on frontend 1 (index 1), the one killed.
    const sub = await connect(1, subOptions, record);
    await sub.subscribeAsync('k/data', { qos: 1 });
    const wills: string[] = [];
    const watcher = await connect(2, { clientId: 'k-will-watcher' }, (c) => c.on('message', (topic, payload) => topic === 'k/will' && wills.push(payload.toString())));
    await watcher.subscribeAsync('k/will', { qos: 1 });
    await connect(1, { clientId: 'k-with-will', will: { topic: 'k/will', payload: Buffer.from('gone'), qos: 1, retain: false } });
    // Routes from frontend 0 to the subscriber on 1: probes until one arrives.
    const probe = await connect(0, { clientId: 'k-probe' });
    await until('a route to the subscriber', () => {
      probe.publish('k/data', 'probe', { qos: 0 });
      return received.has('probe');
    }, 10_000, 20);

    const total = 12_000;
    const onVictim = publishLoad('a', total, [1, 0]); // publishing on the frontend killed, then on frontend 0
    const onOther = publishLoad('b', total, [0]);
    await until('a third of the load acknowledged', () => onVictim.acked.size + onOther.acked.size >= (2 * total) / 3, 60_000);
    await cluster.frontends[1]!.kill9();
    // The subscriber's connection died with the frontend: it resumes its session on frontend 2.
    sub.end(true);
    await connect(2, subOptions, record);
    await Promise.all([onVictim.done, onOther.done]);

    const acked = [...onVictim.acked, ...onOther.acked];
    expect(acked.length).toBe(2 * total);
    await until('every acknowledged message delivered', () => acked.every((m) => received.has(m)), 90_000).catch((error: unknown) => {
      const missing = acked.filter((m) => !received.has(m));
      for (const f of ['f1', 'f3']) {
        const lines = readFileSync(join(cluster.home.home, f, 'broker.log'), 'utf8').split('\n').filter((l) => /"level":(40|50)|gone|took|taken|handed/.test(l));
        console.info(f, lines.map((l) => l.slice(0, 400)).join('\n'));
      }
      throw new Error(`${String(error)}: ${missing.length} of ${acked.length} missing, e.g. ${missing.slice(0, 10).join(' ')}`);
    });
    await until('the will of the client on the killed frontend', () => wills.length > 0, 30_000);
    const duplicates = [...received.values()].reduce((n, c) => n + (c > 1 ? c - 1 : 0), 0);
    // Reported, not asserted: at least once allows them (a message forwarded to the killed frontend and
    // to the subscriber's new one around the takeover, or resent after a lost PUBACK).
    console.info(`frontend kill: ${acked.length} acknowledged, all delivered, ${duplicates} duplicates, wills: ${wills.join(',')}`);
    expect(wills).toContain('gone');
  }, 240_000);
});
