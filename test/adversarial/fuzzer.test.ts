import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBystanders, expectBystandersServed, mulberry32, within, type Bystanders } from '../helpers/bad-input.js';
import { childBrokerAvailable, CHILD_DIST_MODULE } from '../helpers/child-broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { ChildTarget } from './child-target.js';
import { connectPackets, sessionPackets } from './corpus.js';
import { Chooser, fuzzPacket, type FuzzedPacket } from './mutations.js';
import { encodePacket, type PacketModel } from './packet-model.js';

/**
 * The property-aware fuzzer: valid MQTT 3.1.1 and 5.0 packets (corpus.ts) mutated at the field
 * level (mutations.ts), sent over many connections to a broker in a child process. After every
 * batch the process must be alive, a healthy pair must still round-trip a QoS 1 message, and the
 * `#` subscribers that receive whatever the fuzz publishes must still be connected.
 *
 * CI: one seed, FUZZ_PACKETS (default 20,000) packets. Longer runs: FUZZ_PACKETS=200000
 * FUZZ_SEEDS=1,2,3 (hex) npx vitest run test/adversarial/fuzzer.test.ts
 */
const SEEDS = (process.env['FUZZ_SEEDS'] ?? '5eed2024').split(',').map((s) => Number.parseInt(s.trim(), 16));
const PACKETS = Number(process.env['FUZZ_PACKETS'] ?? 20_000);
const CONNECTIONS_PER_BATCH = 50;
const PACKETS_PER_CONNECTION = 40;
const PACKETS_PER_BATCH = CONNECTIONS_PER_BATCH * PACKETS_PER_CONNECTION;
const PARALLEL = 10;

/** One connection of a batch, planned up front so the bytes depend on the seed only. */
interface Plan {
  readonly version: 4 | 5;
  readonly clientId: string;
  /** Sent first: a valid CONNECT, a fuzzed one, or (no CONNECT) a fuzzed session packet. */
  readonly connect: FuzzedPacket;
  readonly packets: readonly FuzzedPacket[];
  readonly oneWrite: boolean;
}

function planBatch(c: Chooser, seed: number, batch: number): Plan[] {
  return Array.from({ length: CONNECTIONS_PER_BATCH }, (_, i) => {
    const version: 4 | 5 = c.chance(0.5) ? 4 : 5;
    const clientId = `fz-${seed.toString(16)}-${batch}-${i}`;
    const connects = connectPackets(version, clientId);
    const pool = sessionPackets(version);
    // A tenth start with another packet than CONNECT, a third fuzz the CONNECT itself (wills included), the rest fuzz a session.
    const first = c.int(30);
    const connect = first < 3 ? fuzzPacket(c, pool) : first < 13 ? fuzzPacket(c, connects) : { bytes: encodePacket(c.pick(connects.slice(0, 2)) as PacketModel), mutations: [] };
    const packets = Array.from({ length: PACKETS_PER_CONNECTION }, () => (c.chance(0.85) ? fuzzPacket(c, pool) : { bytes: encodePacket(c.pick(pool)), mutations: [] }));
    return { version, clientId, connect, packets, oneWrite: c.chance(0.5) };
  });
}

/** Sends one plan and waits until the connection is closed (the client ends it without DISCONNECT: wills fire). */
async function run(port: number, plan: Plan): Promise<number> {
  const raw = await RawClient.open(port, plan.version);
  try {
    raw.sendBytes(plan.connect.bytes);
    if (plan.oneWrite) raw.sendBytes(Buffer.concat(plan.packets.map((p) => p.bytes)));
    else for (const packet of plan.packets) raw.sendBytes(packet.bytes);
    raw.socket.end();
    await within(raw.closed, 10_000, `close of ${plan.clientId}`);
  } finally {
    raw.destroy();
  }
  return 1 + plan.packets.length;
}

let target: ChildTarget | undefined;
let bystanders: Bystanders;
let sinks: MqttClient[] = [];
let received = 0;

const available = childBrokerAvailable();
if (!available) console.warn(`skipping the fuzzer: ${CHILD_DIST_MODULE} is missing; run \`npm run build\` (npm test does)`);

describe.skipIf(!available)('property-aware fuzzer (broker in a child process)', () => {
  beforeAll(async () => {
    target = await ChildTarget.start();
    bystanders = await connectBystanders(target, 'bystander/t');
    // Subscribers to everything: every fuzzed message that is accepted is delivered to them (v5 and 3.1.1, QoS 2).
    sinks = [await target.connect({ protocolVersion: 5, clientId: 'sink-v5' }), await target.connect({ protocolVersion: 4, clientId: 'sink-v4' })];
    for (const sink of sinks) {
      sink.on('message', () => received++);
      await sink.subscribeAsync('#', { qos: 2 });
    }
  });

  afterAll(async () => {
    await target?.stop();
    target = undefined;
  });

  it.each(SEEDS)(`seed %x: ${PACKETS} mutated packets leave the process alive and serving`, async (seed) => {
    const t = target as ChildTarget;
    const c = new Chooser(mulberry32(seed));
    const batches = Math.max(1, Math.ceil(PACKETS / PACKETS_PER_BATCH));
    let tried = 0;
    let connections = 0;
    const started = Date.now();
    for (let batch = 0; batch < batches; batch++) {
      const plans = planBatch(c, seed, batch);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < plans.length) {
          const plan = plans[next++] as Plan;
          const sent = await run(t.port, plan);
          tried += sent;
          connections++;
        }
      };
      try {
        await Promise.all(Array.from({ length: PARALLEL }, worker));
      } catch (error) {
        // A refused connection or a close that never came: say so if the process ended.
        await within(t.broker.exited, 2000, 'exit').catch(() => undefined);
        t.assertAlive();
        throw error;
      }
      // After each batch: the process is alive, a healthy pair round-trips, the `#` subscribers are still there.
      t.assertAlive();
      await expectBystandersServed(bystanders);
      for (const sink of sinks) expect(sink.connected, `${sink.options.clientId} still connected after batch ${batch}`).toBe(true);
    }
    const contained = await t.sysFigure('$SYS/broker/errors/contained');
    const undeliverable = await t.sysFigure('$SYS/broker/messages/undeliverable');
    t.assertAlive();
    console.info(
      `[fuzzer] seed ${seed.toString(16)}: ${tried} packets over ${connections} connections in ${Date.now() - started} ms; ` +
        `crashes 0; contained internal errors ${contained}; undeliverable messages ${undeliverable}; messages to the # subscribers ${received}`,
    );
    expect(tried).toBeGreaterThanOrEqual(PACKETS);
    // A contained error is still a bug: the boundary kept the process up, the fuzzer found it.
    expect(contained, `contained internal errors (the broker's error lines):\n${t.broker.stderr()}`).toBe(0);
  }, 60_000 + PACKETS * 10);
});
