/**
 * e2e helper: a QoS 1 publisher and a persistent subscriber (clean start false, session expiry)
 * on one port, both reconnecting by themselves (mqtt's reconnect; the publisher's unacknowledged
 * messages are sent again from mqtt's outgoing store). Counts what was PUBACKed and what arrived,
 * so a test can kill a member mid-flow and check that no acknowledged message was lost.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

/** A running flow. */
export interface Qos1Flow {
  /** The subscriber's frontend is known once `subscribed` resolved: its client. */
  readonly subscriber: MqttClient;
  readonly publisher: MqttClient;
  /** Payloads whose PUBLISH got a successful PUBACK. */
  readonly acked: Set<string>;
  /** Payload -> times received. */
  readonly received: Map<string, number>;
  /** PUBLISHes refused (reason code >= 0x80 or an error) and sent again. */
  readonly retries: () => number;
  /** Times the subscriber's connection was lost (mqtt then reconnects it). */
  readonly subscriberDrops: () => number;
  /** Starts publishing `count` messages, `window` in flight; resolves once all are acknowledged. */
  publish(): Promise<void>;
  /** Resolves once every acknowledged message was received (rejects after `timeoutMs` naming the missing). */
  allDelivered(timeoutMs: number): Promise<void>;
  /** Received more than once, summed. */
  duplicates(): number;
  /** Ends both clients. */
  end(): Promise<void>;
}

function open(port: number, options: IClientOptions): Promise<MqttClient> {
  const client = mqtt.connect({ host: '127.0.0.1', port, protocolVersion: 5, reconnectPeriod: 100, connectTimeout: 5000, ...options });
  client.on('error', () => undefined); // a killed member: mqtt reconnects by itself
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${String(options.clientId)}: no CONNACK within 10 s`)), 10_000);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve(client);
    });
  });
}

async function until(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Connects the subscriber (`<tag>-sub`, subscribed to `<tag>/data` at QoS 1), then the publisher
 * (`<tag>-pub`), on `port`; `beforePublisher` runs in between (a test can see where the subscriber landed).
 */
export async function startQos1Flow(port: number, tag: string, count: number, window = 50, beforePublisher?: () => Promise<void>): Promise<Qos1Flow> {
  const topic = `${tag}/data`;
  const received = new Map<string, number>();
  const acked = new Set<string>();
  let retries = 0;
  const subscriber = await open(port, { clientId: `${tag}-sub`, clean: false, properties: { sessionExpiryInterval: 600 } });
  let subscriberDrops = 0;
  subscriber.on('offline', () => subscriberDrops++);
  subscriber.on('message', (t, payload) => {
    if (t !== topic) return;
    const text = payload.toString();
    received.set(text, (received.get(text) ?? 0) + 1);
  });
  await subscriber.subscribeAsync(topic, { qos: 1 });
  await beforePublisher?.();
  const publisher = await open(port, { clientId: `${tag}-pub`, clean: false, properties: { sessionExpiryInterval: 600 } });
  const publish = async (): Promise<void> => {
    let next = 0;
    const deadline = Date.now() + 120_000;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const payload = `${tag}-${next++}`;
        for (;;) {
          try {
            await publisher.publishAsync(topic, payload, { qos: 1 });
            acked.add(payload);
            break;
          } catch {
            retries++;
            if (Date.now() > deadline) throw new Error(`${payload}: never acknowledged`);
            await new Promise((resolve) => setTimeout(resolve, 100)); // back off, then publish it again
          }
        }
      }
    };
    await Promise.all(Array.from({ length: window }, worker));
  };
  return {
    subscriber,
    publisher,
    acked,
    received,
    retries: () => retries,
    subscriberDrops: () => subscriberDrops,
    publish,
    allDelivered: (timeoutMs) =>
      until('every acknowledged message delivered', () => [...acked].every((m) => received.has(m)), timeoutMs).catch((error: unknown) => {
        const missing = [...acked].filter((m) => !received.has(m));
        const state = `subscriber ${subscriber.connected ? 'connected' : 'not connected'} (dropped ${subscriberDrops} times), ${received.size} distinct received`;
        throw new Error(`${String(error)}: ${missing.length} of ${acked.size} missing, e.g. ${missing.slice(0, 10).join(' ')}; ${state}`);
      }),
    duplicates: () => [...received.values()].reduce((n, c) => n + (c > 1 ? c - 1 : 0), 0),
    end: async () => {
      await Promise.all([subscriber.endAsync(true), publisher.endAsync(true)]);
    },
  };
}

/** Waits until `flow` has `n` acknowledged messages (for a kill mid-flow). */
export function ackedAtLeast(flow: Qos1Flow, n: number, timeoutMs = 60_000): Promise<void> {
  return until(`${n} messages acknowledged`, () => flow.acked.size >= n, timeoutMs);
}
