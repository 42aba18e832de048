import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterEach } from 'vitest';
import { createBroker, type Broker, type CreateBrokerOptions } from '../../src/broker/broker.js';

/** A broker listening on an ephemeral port, and how to reach it. */
export interface RunningBroker {
  readonly broker: Broker;
  readonly port: number;
  readonly url: string;
  /** Connects a real `mqtt` client (no reconnect), closed by `stop()`. */
  connect(options?: IClientOptions): Promise<MqttClient>;
  /** Ends every client this helper opened, then closes the broker. */
  stop(): Promise<void>;
}

/** Starts a real broker on 127.0.0.1 port 0 ($SYS off unless asked). */
export async function startBroker(options: CreateBrokerOptions = {}): Promise<RunningBroker> {
  const broker = createBroker({ sysIntervalSeconds: 0, ...options });
  const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
  const url = `mqtt://127.0.0.1:${port}`;
  const clients: MqttClient[] = [];
  return {
    broker,
    port,
    url,
    async connect(clientOptions: IClientOptions = {}): Promise<MqttClient> {
      const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...clientOptions });
      clients.push(client);
      return client;
    },
    async stop(): Promise<void> {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
      await broker.close();
    },
  };
}

/** The brokers a test starts, all stopped after it. */
export interface BrokerFixture {
  /** Starts a broker (`startBroker(options)`), stopped after the test. */
  start(options?: CreateBrokerOptions): Promise<RunningBroker>;
  /** The broker the test started last; throws when none was. */
  current(): RunningBroker;
}

/**
 * Registers (in the calling file or describe block) an afterEach that stops every broker the test
 * started, newest first (stopping one the test stopped already is harmless), and fails the test
 * with the first error a stop threw. Call it before registering the file's own afterEach: vitest
 * runs after-hooks in reverse order, so the file's clients and servers close before the broker.
 */
export function useBroker(): BrokerFixture {
  const started: RunningBroker[] = [];
  afterEach(async () => {
    const errors: unknown[] = [];
    for (const running of started.splice(0).reverse()) await running.stop().catch((error: unknown) => errors.push(error));
    if (errors.length > 0) throw errors[0];
  });
  return {
    async start(options: CreateBrokerOptions = {}): Promise<RunningBroker> {
      const running = await startBroker(options);
      started.push(running);
      return running;
    },
    current(): RunningBroker {
      const running = started.at(-1);
      if (running === undefined) throw new Error('useBroker: no broker started in this test');
      return running;
    },
  };
}

/** Resolves with the next `message` event of a client. */
export function nextMessage(client: MqttClient): Promise<{ topic: string; payload: Buffer; packet: mqtt.IPublishPacket }> {
  return new Promise((resolve) => {
    client.once('message', (topic, payload, packet) => resolve({ topic, payload, packet }));
  });
}

/** Collects `count` messages of a client, in arrival order. */
export function collectMessages(client: MqttClient, count: number): Promise<{ topic: string; payload: Buffer; packet: mqtt.IPublishPacket }[]> {
  return new Promise((resolve) => {
    const got: { topic: string; payload: Buffer; packet: mqtt.IPublishPacket }[] = [];
    const onMessage = (topic: string, payload: Buffer, packet: mqtt.IPublishPacket): void => {
      got.push({ topic, payload, packet });
      if (got.length === count) {
        client.off('message', onMessage);
        resolve(got);
      }
    };
    client.on('message', onMessage);
  });
}
