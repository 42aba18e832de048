/** e2e helpers: the real `mqtt` client against a created broker. */
import { connect, type IClientOptions, type MqttClient } from 'mqtt';

/** Connects with the `mqtt` client; rejects if the broker refuses or does not answer in time. */
export function connectClient(port: number, options: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = connect({ host: '127.0.0.1', port, reconnectPeriod: 0, connectTimeout: 3000, ...options });
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
    client.once('close', () => reject(new Error('connection closed before CONNACK')));
  });
}

/** Publishes on `topic` and resolves with the payload another client receives there. */
export async function roundTrip(port: number, topic: string, payload: string): Promise<string> {
  const sub = await connectClient(port);
  const pub = await connectClient(port);
  try {
    const received = new Promise<string>((resolve) => sub.on('message', (_t, message) => resolve(message.toString())));
    await sub.subscribeAsync(topic, { qos: 1 });
    await pub.publishAsync(topic, payload, { qos: 1 });
    return await received;
  } finally {
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  }
}
