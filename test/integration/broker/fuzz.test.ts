import mqttPacket, { type Packet } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { expectBystandersServed, connectBystanders, mulberry32, within } from '../../helpers/bad-input.js';
import { RawClient } from '../../helpers/raw-client.js';
import { nextMessage, startBroker, type RunningBroker } from '../../helpers/start-broker.js';

const SEEDS = (process.env['FUZZ_SEEDS'] ?? '5eed2024,c0ffee,1234abcd').split(',').map((s) => Number.parseInt(s, 16));
const CONNECTIONS = 50;
const PACKETS_PER_CONNECTION = 40; // 2000 packets in all
const PARALLEL = 10;

/** Valid packets to mutate, per protocol version. */
function templates(version: 4 | 5): Buffer[] {
  const v5 = version === 5;
  const packets: Packet[] = [
    {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: version,
      clean: true,
      keepalive: 30,
      clientId: 'fuzz',
      username: 'u',
      password: Buffer.from('p'),
      will: { topic: 'w/t', payload: Buffer.from('bye'), qos: 1, retain: false, ...(v5 ? { properties: { willDelayInterval: 1 } } : {}) },
      ...(v5 ? { properties: { sessionExpiryInterval: 0, receiveMaximum: 10, topicAliasMaximum: 5, userProperties: { a: 'b' } } } : {}),
    },
    { cmd: 'publish', topic: 'fuzz/a', payload: Buffer.from('hello'), qos: 0, dup: false, retain: false },
    {
      cmd: 'publish',
      topic: 'fuzz/b',
      payload: Buffer.from('world'),
      qos: 1,
      messageId: 7,
      dup: false,
      retain: true,
      ...(v5 ? { properties: { topicAlias: 1, messageExpiryInterval: 60, contentType: 'text/plain', correlationData: Buffer.from([1, 2]), userProperties: { k: ['v1', 'v2'] } } } : {}),
    },
    { cmd: 'publish', topic: 'fuzz/c', payload: Buffer.alloc(40, 0x7a), qos: 2, messageId: 8, dup: false, retain: false },
    { cmd: 'puback', messageId: 1, ...(v5 ? { reasonCode: 0 } : {}) },
    { cmd: 'pubrec', messageId: 2 },
    { cmd: 'pubrel', messageId: 8 },
    { cmd: 'pubcomp', messageId: 3 },
    {
      cmd: 'subscribe',
      messageId: 4,
      subscriptions: [
        { topic: 'fuzz/#', qos: 1, ...(v5 ? { nl: true, rap: true, rh: 1 } : {}) },
        { topic: '$share/g/fuzz/+', qos: 2 },
      ],
      ...(v5 ? { properties: { subscriptionIdentifier: 3 } } : {}),
    },
    { cmd: 'unsubscribe', messageId: 5, unsubscriptions: ['fuzz/#', 'x'] },
    { cmd: 'pingreq' },
    { cmd: 'disconnect', ...(v5 ? { reasonCode: 0, properties: { sessionExpiryInterval: 0 } } : {}) },
    ...(v5 ? [{ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'm' } } as Packet] : []),
  ];
  return packets.map((p) => mqttPacket.generate(p, { protocolVersion: version }));
}

/** One fuzzed packet: random bytes, or a valid encoding flipped, truncated, re-lengthed or spliced. */
function fuzzPacket(rand: () => number, pool: Buffer[]): Buffer {
  const int = (n: number): number => Math.floor(rand() * n);
  const pick = (): Buffer => Buffer.from(pool[int(pool.length)] as Buffer);
  switch (int(6)) {
    case 0: {
      const bytes = Buffer.alloc(1 + int(64));
      for (let i = 0; i < bytes.length; i++) bytes[i] = int(256);
      return bytes;
    }
    case 1: {
      const bytes = pick();
      for (let flips = 1 + int(4); flips > 0; flips--) bytes[int(bytes.length)] = int(256);
      return bytes;
    }
    case 2: {
      const bytes = pick();
      return bytes.subarray(0, int(bytes.length));
    }
    case 3: {
      const bytes = pick();
      if (bytes.length > 1) bytes[1] = int(256); // another remaining length (may continue into the body)
      return bytes;
    }
    case 4: {
      const a = pick();
      const b = pick();
      return Buffer.concat([a.subarray(0, int(a.length + 1)), b.subarray(int(b.length))]);
    }
    default: {
      const bytes = pick();
      bytes[0] = ((bytes[0] as number) & 0xf0) | int(16); // other header flags
      return bytes;
    }
  }
}

let running: RunningBroker | undefined;
const raws: RawClient[] = [];
const problems: unknown[] = [];
const onProblem = (error: unknown): void => {
  problems.push(error);
};

afterEach(async () => {
  process.off('uncaughtException', onProblem);
  process.off('unhandledRejection', onProblem);
  for (const raw of raws.splice(0)) raw.destroy();
  await running?.stop();
  running = undefined;
});

describe('fuzz', () => {
  it.each(SEEDS)(`seed %x: ${CONNECTIONS * PACKETS_PER_CONNECTION} random and mutated packets leave the broker serving`, async (SEED) => {
    process.on('uncaughtException', onProblem);
    process.on('unhandledRejection', onProblem);
    const rand = mulberry32(SEED);
    running = await startBroker({ clients: { maxPacketSizeBytes: 64 * 1024 } });
    const port = running.port;
    const bystanders = await connectBystanders(running);
    const pools = { 4: templates(4), 5: templates(5) } as const;

    // Plan every connection up front so the byte streams depend on the seed only.
    const plans = Array.from({ length: CONNECTIONS }, (_, i) => {
      const version: 4 | 5 = rand() < 0.5 ? 4 : 5;
      const connectFirst = i % 2 === 0; // half after a valid CONNECT, half as the first packet
      const packets = Array.from({ length: PACKETS_PER_CONNECTION }, () => fuzzPacket(rand, pools[version]));
      const oneWrite = rand() < 0.5;
      return { version, connectFirst, packets, oneWrite, clientId: `fuzz-${i}` };
    });

    let index = 0;
    const worker = async (): Promise<void> => {
      while (index < plans.length) {
        const plan = plans[index++] as (typeof plans)[number];
        const raw = await RawClient.open(port, plan.version);
        raws.push(raw);
        if (plan.connectFirst) {
          const connack = await raw.connect({ clientId: plan.clientId });
          expect(plan.version === 5 ? connack.reasonCode : connack.returnCode).toBe(0);
        }
        if (plan.oneWrite) raw.sendBytes(Buffer.concat(plan.packets));
        else for (const packet of plan.packets) raw.sendBytes(packet);
        raw.socket.end(); // whatever state the broker is in, it must close the connection
        await within(raw.closed, 5000, `close of ${plan.clientId}`);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));

    expect(running.broker.stats().clients.connected).toBe(2); // only the bystanders
    await expectBystandersServed(bystanders);

    // A fresh normal client still connects, subscribes, publishes and receives (v5 and 3.1.1).
    for (const protocolVersion of [5, 4] as const) {
      const client = await running.connect({ protocolVersion, clientId: `after-fuzz-${protocolVersion}` });
      await client.subscribeAsync('after/fuzz', { qos: 1 });
      const got = nextMessage(client);
      await client.publishAsync('after/fuzz', `ok-${protocolVersion}`, { qos: 1 });
      expect((await within(got, 5000, 'message after fuzz')).payload.toString()).toBe(`ok-${protocolVersion}`);
    }
    expect(problems).toEqual([]);
  });
});
