/**
 * Inbound QoS 2 state across a `kill -9` of a frontend process (issue 15): the packet id a
 * frontend sent PUBREC for is stored in Redis (`i2:{c:<id>}`) before the PUBREC, so the PUBLISH
 * resent with DUP to another frontend is acknowledged there without being delivered again
 * [MQTT-4.3.3-10], its PUBREL is known there [MQTT-4.3.3-11], and the id is free after PUBCOMP.
 */
import type { IConnackPacket, IPubcompPacket, IPubrecPacket } from 'mqtt-packet';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReasonCode } from '../../src/protocol/reason-codes.js';
import { startFrontends, type ClusterFrontends } from '../helpers/cluster-frontends.js';
import { RawClient } from '../helpers/raw-client.js';
import { redisCli } from '../helpers/redis-cluster.js';
import { until } from '../helpers/session-helpers.js';

let cluster: ClusterFrontends;
const raws: RawClient[] = [];
const clients: MqttClient[] = [];

beforeAll(async () => {
  cluster = await startFrontends({ frontends: 2, persistence: { maxSize: '500M' } });
}, 90_000);

afterAll(async () => {
  for (const c of raws) c.destroy();
  for (const c of clients) c.end(true);
  await cluster?.stop();
});

async function raw(frontend: number): Promise<RawClient> {
  const client = await RawClient.open(cluster.frontends[frontend]!.port, 5);
  raws.push(client);
  return client;
}

/** Every key of the backend matching `pattern` (on each master). */
async function keys(pattern: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of cluster.redis.nodes) {
    const out = await redisCli(node.port, '--scan', '--pattern', pattern).catch(() => '');
    for (const line of out.split('\n')) if (line.trim() !== '') found.push(line.trim());
  }
  return [...new Set(found)];
}

describe('inbound QoS 2 across a frontend kill -9', () => {
  it('a PUBLISH resent with DUP to another frontend after PUBREC is not delivered again; PUBREL completes there; the id is free after PUBCOMP', async () => {
    // The subscriber on f2, QoS 2; routed from f1 once its probe arrives.
    const sub = mqtt.connect({ host: '127.0.0.1', port: cluster.frontends[1]!.port, protocolVersion: 5, reconnectPeriod: 0, clientId: 'q2-sub' });
    clients.push(sub);
    const got: string[] = [];
    sub.on('message', (_topic, payload) => got.push(payload.toString()));
    await new Promise<void>((resolve, reject) => {
      sub.once('connect', () => resolve());
      sub.once('error', reject);
    });
    await sub.subscribeAsync('q2/#', { qos: 2 });

    const first = await raw(0);
    await first.connect({ clientId: 'q2-pub', clean: false, properties: { sessionExpiryInterval: 300 } });
    await until(() => {
      first.send({ cmd: 'publish', topic: 'q2/probe', payload: 'probe', qos: 0, retain: false, dup: false });
      return got.includes('probe');
    }, 10_000, 'the subscriber routed from f1');

    first.send({ cmd: 'publish', topic: 'q2/x', payload: 'once', qos: 2, messageId: 7, retain: false, dup: false });
    const pubrec = (await first.nextOf('pubrec')) as IPubrecPacket;
    expect(pubrec.messageId).toBe(7);
    expect(pubrec.reasonCode ?? 0).toBe(ReasonCode.Success);
    await until(() => got.includes('once'), 10_000, 'the message delivered');
    expect(await keys('i2:*')).toHaveLength(1); // the taken id is in Redis (the client's tag)

    await cluster.frontends[0]!.kill9();
    await first.closed;

    // The client resumes on f2 (once f1's lease ran out) and resends the PUBLISH with DUP.
    const again = await raw(1);
    // (the claim waits for f1's lease to run out: longer than RawClient.connect waits)
    again.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: false, keepalive: 0, clientId: 'q2-pub', properties: { sessionExpiryInterval: 300 } });
    const connack = (await again.nextOf('connack', 30_000)) as IConnackPacket;
    expect(connack.sessionPresent).toBe(true);
    again.send({ cmd: 'publish', topic: 'q2/x', payload: 'once', qos: 2, messageId: 7, retain: false, dup: true });
    const resent = (await again.nextOf('pubrec')) as IPubrecPacket;
    expect(resent.messageId).toBe(7);
    expect(resent.reasonCode ?? 0).toBe(ReasonCode.Success);
    again.send({ cmd: 'pubrel', messageId: 7 });
    const pubcomp = (await again.nextOf('pubcomp')) as IPubcompPacket;
    expect(pubcomp.reasonCode ?? 0).toBe(ReasonCode.Success); // known on f2: not 0x92
    expect(await keys('i2:*')).toEqual([]); // released: the mark is gone

    // The id is free: a new PUBLISH on 7 is delivered.
    again.send({ cmd: 'publish', topic: 'q2/x', payload: 'next', qos: 2, messageId: 7, retain: false, dup: false });
    expect(((await again.nextOf('pubrec')) as IPubrecPacket).reasonCode ?? 0).toBe(ReasonCode.Success);
    again.send({ cmd: 'pubrel', messageId: 7 });
    expect(((await again.nextOf('pubcomp')) as IPubcompPacket).reasonCode ?? 0).toBe(ReasonCode.Success);
    await until(() => got.includes('next'), 10_000, 'the next message delivered');
    expect(got.filter((p) => p !== 'probe')).toEqual(['once', 'next']); // 'once' exactly once
  }, 60_000);
});
