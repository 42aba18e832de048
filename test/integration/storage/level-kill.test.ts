import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IPublishPacket } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { ChildBrokers, childBrokerAvailable, CHILD_DIST_MODULE } from '../../helpers/child-broker.js';
import { RawClient } from '../../helpers/raw-client.js';

const TOTAL = 3000;
const WINDOW = 64;
const KILL_AFTER_ACKS = 400;
const SUBSCRIBER = { clientId: 'durable-sub', clean: false, properties: { sessionExpiryInterval: 300 } };

const children = new ChildBrokers();
const clients: RawClient[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await children.killAll();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function client(port: number): Promise<RawClient> {
  const c = await RawClient.open(port);
  clients.push(c);
  return c;
}

const available = childBrokerAvailable();
if (!available) console.warn(`skipping kill -9 test: ${CHILD_DIST_MODULE} is missing; run \`npm run build\` (npm test does)`);

describe.skipIf(!available)('kill -9 of a broker on a LevelBrokerStore', () => {
  it('(e) every PUBACKed message comes back after SIGKILL mid-stream, in order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ops-level-kill-'));
    dirs.push(dir);
    const keyHex = randomBytes(32).toString('hex');
    const first = await children.start(dir, keyHex);

    const sub = await client(first.port);
    await sub.connect(SUBSCRIBER);
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'kill/#', qos: 1 }] });
    expect((await sub.nextOf('suback'))?.cmd).toBe('suback');
    sub.send({ cmd: 'disconnect' });
    sub.socket.end();
    await sub.closed;

    // Publish with a window of unacknowledged messages; SIGKILL the broker once enough are acked.
    const pub = await client(first.port);
    await pub.connect({ clientId: 'pub', clean: true });
    const acked: number[] = [];
    let sent = 0;
    let killed = false;
    const sendNext = (): void => {
      sent++;
      pub.send({ cmd: 'publish', topic: 'kill/t', payload: Buffer.from(`m-${sent}`), qos: 1, messageId: sent, retain: false, dup: false });
    };
    while (sent < WINDOW) sendNext();
    for (;;) {
      const packet = await pub.next(10_000);
      if (packet === undefined) break; // the broker is gone
      if (packet.cmd !== 'puback') continue;
      expect(packet.reasonCode ?? 0).toBe(0); // 0x10 would mean the offline session was not matched
      acked.push(packet.messageId as number);
      if (acked.length === KILL_AFTER_ACKS) {
        killed = first.child.kill('SIGKILL');
      } else if (!killed && sent < TOTAL) sendNext();
    }
    expect(killed).toBe(true);
    await first.exited;
    expect(acked.length).toBeGreaterThanOrEqual(KILL_AFTER_ACKS);
    expect(acked).toEqual([...acked].sort((a, b) => a - b)); // acks come in publish order

    // Restart on the same directory: the session and every acknowledged message are there, in order.
    const second = await children.start(dir, keyHex);
    const again = await client(second.port);
    const connack = await again.connect(SUBSCRIBER);
    expect(connack.sessionPresent).toBe(true);
    const lastAcked = Math.max(...acked);
    const received: number[] = [];
    // Read until the last acknowledged message; if some never come, stop after a quiet period
    // (failure path only) so the assertions below name what is missing.
    while (received.at(-1) !== lastAcked) {
      const packet = (await again.nextOf('publish', 2000).catch(() => undefined)) as IPublishPacket | undefined;
      if (packet === undefined) break;
      const index = Number(packet.payload.toString().slice(2));
      received.push(index);
      again.send({ cmd: 'puback', messageId: packet.messageId as number, reasonCode: 0 });
      if (index > lastAcked) break; // order broken: the assertions below report it
    }
    expect(received).toEqual([...new Set(received)].sort((a, b) => a - b)); // in order, no duplicates
    const got = new Set(received);
    expect(acked.filter((i) => !got.has(i))).toEqual([]); // no acknowledged message lost
    expect(received.at(-1)).toBe(lastAcked);
  });
});
