import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
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
