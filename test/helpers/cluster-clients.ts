/**
 * The real `mqtt` client on cluster frontends (in-process or real processes: anything with ports),
 * and the waits the cluster tests share: a condition polled until it holds, and a route (QoS 0 probes
 * published until a subscriber on another frontend has one: its subscription has reached the
 * publisher's frontend).
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

/** What the clients connect to: frontend `index`'s plain MQTT port. */
export interface FrontendPorts {
  readonly frontends: ReadonlyArray<{ readonly port: number }>;
}

/** A client at its CONNACK. */
export interface Connected {
  readonly client: MqttClient;
  readonly sessionPresent: boolean;
}

/** Clients on the frontends of one cluster, every one ended by {@link ClusterClients.endAll}. */
export interface ClusterClients {
  /**
   * Connects to frontend `index` (MQTT v5, no automatic reconnect unless `options` says so); `before`
   * runs before the CONNECT is answered (listeners for messages sent at once). Rejects when the
   * connection fails or closes before the CONNACK. Errors after it are left to the test's conditions
   * (a killed frontend closes its clients' connections).
   */
  connect(index: number, options?: IClientOptions, before?: (client: MqttClient) => void): Promise<MqttClient>;
  /** {@link connect}, with the CONNACK's session present flag. */
  connectSession(index: number, options?: IClientOptions, before?: (client: MqttClient) => void): Promise<Connected>;
  /** Ends every client connected through this (forcibly): for afterAll. */
  endAll(): void;
}

/** Clients on `cluster()`'s frontends (a getter: the cluster is usually started in beforeAll). */
export function clusterClients(cluster: () => FrontendPorts): ClusterClients {
  const clients: MqttClient[] = [];
  const connectSession = (index: number, options: IClientOptions = {}, before?: (client: MqttClient) => void): Promise<Connected> => {
    const frontend = cluster().frontends[index];
    if (frontend === undefined) return Promise.reject(new Error(`no frontend ${index}`));
    const client = mqtt.connect({ host: '127.0.0.1', port: frontend.port, protocolVersion: 5, reconnectPeriod: 0, ...options });
    clients.push(client);
    client.on('error', () => undefined);
    before?.(client);
    return new Promise((resolve, reject) => {
      const fail = (error: Error): void => {
        client.off('connect', ok).off('close', closed);
        reject(error);
      };
      const ok = (packet: { sessionPresent: boolean }): void => {
        client.off('error', fail).off('close', closed);
        resolve({ client, sessionPresent: packet.sessionPresent });
      };
      const closed = (): void => fail(new Error(`connection to frontend ${index} closed before CONNACK`));
      client.once('connect', ok).once('error', fail).once('close', closed);
    });
  };
  return {
    connect: async (index, options, before) => (await connectSession(index, options, before)).client,
    connectSession,
    endAll: () => {
      for (const c of clients.splice(0)) c.end(true);
    },
  };
}

/** Polls `condition` every `intervalMs` until it holds; throws naming `what` after `timeoutMs`. */
export async function until(what: string, condition: () => boolean, timeoutMs = 30_000, intervalMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The payload {@link routed} publishes. */
export const PROBE = 'probe';

/**
 * Publishes QoS 0 probes ({@link PROBE}) on `topic` from `pub` until `seen()` is true: a subscription
 * made on another frontend has reached `pub`'s frontend.
 */
export async function routed(pub: MqttClient, topic: string, seen: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!seen()) {
    if (Date.now() > deadline) throw new Error(`no route for ${topic} within ${timeoutMs} ms`);
    pub.publish(topic, PROBE, { qos: 0 });
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** One message a {@link collect}ing client received. */
export interface Received {
  readonly topic: string;
  readonly payload: string;
  readonly qos: number;
  readonly retain: boolean;
}

/** Messages a client receives, probes counted apart (one still on its way must not show up later among them). */
export interface Collected {
  readonly messages: Received[];
  /** Probes received so far. */
  probes: number;
}

/** Starts collecting what `client` receives. */
export function collect(client: MqttClient): Collected {
  const got: Collected = { messages: [], probes: 0 };
  client.on('message', (topic, payload, packet) => {
    if (payload.toString() === PROBE) got.probes++;
    else got.messages.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain });
  });
  return got;
}
