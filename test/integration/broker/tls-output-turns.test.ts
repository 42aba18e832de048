import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import mqtt, { type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeServerPki } from '../../helpers/certs.js';
import { RawClient } from '../../helpers/raw-client.js';
import { useBroker } from '../../helpers/start-broker.js';

const MESSAGES = 4096;
const PAYLOAD = Buffer.alloc(512, 0x61);
const HIGH_WATER = 256 * 1024;

const brokers = useBroker();
let server: Server | undefined;
let subscriber: MqttClient | undefined;
let publisher: RawClient | undefined;
let dir: string | undefined;

afterEach(async () => {
  publisher?.destroy();
  await subscriber?.endAsync(true).catch(() => undefined);
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  server = subscriber = publisher = dir = undefined;
});

describe('output to TLS subscribers under a burst of input', () => {
  // TLS socket writes complete only between event-loop turns: a connection that read a whole
  // socket backlog in one turn would fill a TLS subscriber past the high-water mark and drop QoS 0,
  // so reading yields between turns.
  it('delivers every QoS 0 message of a 2 MiB burst to a reading TLS subscriber (reading yields per turn)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ops-tlsout-'));
    const { ca, server: cert } = await makeServerPki(dir);
    const running = await brokers.start({ outputHighWaterMark: HIGH_WATER });
    const broker = running.broker;
    server = createServer({ cert: cert.certPem, key: cert.keyPem }, (socket) => broker.attach(socket));
    await new Promise<void>((resolve) => (server as Server).listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');

    subscriber = await mqtt.connectAsync(`mqtts://127.0.0.1:${address.port}`, { ca: ca.certPem, servername: 'localhost', reconnectPeriod: 0 });
    await subscriber.subscribeAsync('burst/#', { qos: 0 });
    let delivered = 0;
    subscriber.on('message', () => delivered++);

    publisher = await RawClient.open(running.port, 4);
    await publisher.connect({ clientId: 'burst-pub' });
    const one = mqttPacket.generate({ cmd: 'publish', topic: 'burst/a', payload: PAYLOAD, qos: 0, retain: false, dup: false });
    publisher.sendBytes(Buffer.concat(new Array<Buffer>(MESSAGES).fill(one)));

    await vi.waitFor(() => expect(broker.stats().messages.received).toBe(MESSAGES), { timeout: 10_000, interval: 20 });
    expect(broker.stats().messages.dropped).toBe(0);
    await vi.waitFor(() => expect(delivered).toBe(MESSAGES), { timeout: 10_000, interval: 20 });
  });
});
