/**
 * A minimal state store client on MQTT v5 (docs/reference/state-store-protocol.md §1, §4): requests on the invoke
 * topic with a response topic of the Rust SDK's shape, correlation data, `__ts`; replies matched by
 * correlation data; key notifications on this client's notify topic. No reconnects: a lost
 * connection fails the pending calls with `SST_CONNECTION_LOST`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IPublishPacket, MqttClient } from 'mqtt';
import { OpsError, reasonOf } from '../../../shared/errors.js';
import { CONTENT_TYPE, notificationFilter, PROP, PROTOCOL_VERSION, REQUEST_TOPIC, STATE_STORE_ID } from '../../../shared/state-store-wire.js';
import { ClientClock } from './client-clock.js';
import { encodeRequest, parseNotification, parseReply, type KeyNotification, type Reply } from './resp3-client.js';
import type { ConnectionSecurity } from './connection-security.js';

/** Where the broker is, and how to connect (TLS, credentials). */

/** A request without a reply this long is sent again (same correlation data), until the timeout. */
export const RESEND_MS = 1000;
export interface Endpoint extends ConnectionSecurity {
  readonly host: string;
  readonly port: number;
}

/** A reply with the version (`__ts`) it carried. */
export interface InvokeResult {
  readonly reply: Reply;
  readonly version?: string;
}

/** A received notification with its key and version. */
export type ReceivedNotification = KeyNotification & { readonly key: Buffer; readonly version?: string };

/** Options of {@link StateStoreClient.connect}. */
export interface ClientOptions {
  readonly connectTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
}

function userProp(packet: IPublishPacket, name: string): string | undefined {
  const v = packet.properties?.userProperties?.[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * A readable reason for a socket or MQTT error: plain words for a refused connection or an unknown
 * host, else the message, or the code where there is none (AggregateErrors of dual-stack connects).
 */
export function connectionErrorReason(err: unknown): string {
  if (!(err instanceof Error)) return reasonOf(err);
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return 'connection refused (nothing listens on that port)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `host not found (${code})`;
  return err.message !== '' ? err.message : (code ?? err.name);
}

/** A connected state store client. */
export class StateStoreClient {
  readonly clientId: string;
  readonly address: string;
  readonly #client: MqttClient;
  readonly #clock: ClientClock;
  readonly #timeoutMs: number;
  readonly #responseTopic: string;
  readonly #notifyFilter: string;
  readonly #pending = new Map<string, { resolve: (r: InvokeResult) => void; reject: (e: OpsError) => void }>();
  readonly #listeners: ((n: ReceivedNotification) => void)[] = [];
  readonly #lostListeners: ((e: OpsError) => void)[] = [];
  #subscribedNotify = false;
  #closing = false;

  private constructor(client: MqttClient, clientId: string, address: string, timeoutMs: number) {
    this.#client = client;
    this.clientId = clientId;
    this.address = address;
    this.#timeoutMs = timeoutMs;
    this.#clock = new ClientClock(clientId);
    this.#responseTopic = `clients/${clientId}/services/statestore/v1/${STATE_STORE_ID}/command/invoke/response`;
    this.#notifyFilter = notificationFilter(clientId);
    client.on('message', (topic, payload, packet) => this.#onMessage(topic, payload, packet));
    client.on('disconnect', (packet) => this.#onLost(`the broker sent DISCONNECT (reason code 0x${(packet.reasonCode ?? 0).toString(16).padStart(2, '0')})`));
    client.on('close', () => this.#onLost('connection closed'));
    client.on('error', (err) => this.#onLost(connectionErrorReason(err)));
  }

  /** Connects (MQTT v5, clean start, a fresh client id) and subscribes the response topic. */
  static async connect(endpoint: Endpoint, options: ClientOptions = {}): Promise<StateStoreClient> {
    const address = `${endpoint.host}:${endpoint.port}`;
    const clientId = `ops-state-${randomBytes(6).toString('hex')}`;
    const { connect } = await import('mqtt'); // loaded on use: it costs every other `ops` run start-up time
    const mqtt = await new Promise<MqttClient>((resolve, reject) => {
      const client = connect({
        host: endpoint.host,
        port: endpoint.port,
        protocolVersion: 5,
        clientId,
        clean: true,
        keepalive: 30,
        reconnectPeriod: 0,
        connectTimeout: options.connectTimeoutMs ?? 5000,
        ...(endpoint.username !== undefined ? { username: endpoint.username } : {}),
        ...(endpoint.password !== undefined ? { password: endpoint.password } : {}),
        ...(endpoint.tls !== undefined ? { protocol: 'mqtts' as const, rejectUnauthorized: true, ...endpoint.tls } : {}),
      });
      const onError = (err: Error): void => fail(connectionErrorReason(err));
      const onClose = (): void => fail('connection closed before CONNACK');
      const onConnect = (): void => {
        settle();
        resolve(client);
      };
      const settle = (): void => {
        client.off('connect', onConnect).off('error', onError).off('close', onClose);
      };
      const fail = (reason: string): void => {
        settle();
        client.on('error', () => undefined); // late errors (e.g. a CONNACK timeout) of an abandoned client
        client.end(true);
        reject(new OpsError('SST_CONNECT_FAILED', { address, reason }));
      };
      client.once('connect', onConnect).once('error', onError).once('close', onClose);
    });
    const self = new StateStoreClient(mqtt, clientId, address, options.requestTimeoutMs ?? 10_000);
    try {
      await self.#subscribe(self.#responseTopic);
    } catch (err) {
      await self.close();
      throw err;
    }
    return self;
  }

  /** Subscribes `filter`; a refused SUBACK (e.g. 0x87 Not authorized) is `SST_SUBSCRIBE_REFUSED` naming the topic. */
  async #subscribe(filter: string): Promise<void> {
    const granted = await this.#client.subscribeAsync(filter, { qos: 1, nl: true }).catch((err: unknown) => {
      if (err instanceof OpsError) throw err;
      throw new OpsError('SST_SUBSCRIBE_REFUSED', { address: this.address, topic: filter, reason: connectionErrorReason(err) });
    });
    const refused = granted.find((g) => (g.qos & 0x80) !== 0);
    if (refused !== undefined) throw new OpsError('SST_SUBSCRIBE_REFUSED', { address: this.address, topic: filter, reason: `SUBACK reason 0x${refused.qos.toString(16)}` });
  }

  #onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const version = userProp(packet, PROP.timestamp);
    this.#clock.observe(version);
    if (topic === this.#responseTopic) {
      const id = packet.properties?.correlationData?.toString('hex') ?? '';
      const pending = this.#pending.get(id);
      if (!pending) return;
      this.#pending.delete(id);
      const stat = userProp(packet, PROP.status);
      if (stat !== undefined && stat !== '200') {
        pending.reject(new OpsError('SST_BAD_REPLY', { address: this.address, reason: `status ${stat} ${userProp(packet, PROP.statusMessage) ?? ''}`.trim() }));
        return;
      }
      pending.resolve({ reply: parseReply(payload), ...(version !== undefined ? { version } : {}) });
      return;
    }
    const prefix = this.#notifyFilter.slice(0, -1);
    if (!topic.startsWith(prefix)) return;
    const notification = parseNotification(payload);
    if (!notification) return;
    const key = Buffer.from(topic.slice(prefix.length), 'hex');
    for (const listener of this.#listeners) listener({ ...notification, key, ...(version !== undefined ? { version } : {}) });
  }

  #onLost(reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    const error = new OpsError('SST_CONNECTION_LOST', { address: this.address, reason });
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    for (const listener of this.#lostListeners) listener(error);
    this.#client.end(true);
  }

  /**
   * Sends one request and resolves with its reply (`SST_TIMEOUT` when none comes in time). Without a
   * reply within {@link RESEND_MS} the same request (same correlation data: the server's
   * duplicate-request cache answers it alike, never executing it twice) is sent again, until the
   * timeout: in cluster mode the reply to a request sent right after SUBACK may find no route yet.
   */
  invoke(elements: readonly (string | Uint8Array)[], userProperties: Record<string, string> = {}): Promise<InvokeResult> {
    const correlationData = Buffer.from(randomUUID().replaceAll('-', ''), 'hex');
    const id = correlationData.toString('hex');
    const command = String(elements[0] ?? '');
    return new Promise<InvokeResult>((resolve, reject) => {
      if (this.#closing) {
        reject(new OpsError('SST_CONNECTION_LOST', { address: this.address, reason: 'connection closed' }));
        return;
      }
      let resend: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        clearInterval(resend);
        this.#pending.delete(id);
        reject(new OpsError('SST_TIMEOUT', { address: this.address, command, ms: this.#timeoutMs }));
      }, this.#timeoutMs);
      const done = <T>(f: (v: T) => void) => (v: T) => {
        clearTimeout(timer);
        clearInterval(resend);
        f(v);
      };
      this.#pending.set(id, { resolve: done(resolve), reject: done(reject) });
      const payload = encodeRequest(elements);
      const options = {
        qos: 1 as const,
        properties: {
          responseTopic: this.#responseTopic,
          correlationData,
          contentType: CONTENT_TYPE,
          messageExpiryInterval: Math.ceil(this.#timeoutMs / 1000),
          userProperties: { [PROP.timestamp]: this.#clock.next(), [PROP.protocolVersion]: PROTOCOL_VERSION, [PROP.sourceId]: this.clientId, ...userProperties },
        },
      };
      const send = (): void => {
        this.#client.publish(REQUEST_TOPIC, payload, options, (err) => {
          if (!err || !this.#pending.has(id)) return;
          this.#pending.delete(id);
          done(reject)(new OpsError('SST_CONNECTION_LOST', { address: this.address, reason: connectionErrorReason(err) }));
        });
      };
      send();
      resend = setInterval(() => {
        if (this.#pending.has(id) && !this.#closing) send();
      }, RESEND_MS);
      resend.unref();
    });
  }

  /** Subscribes this client's notify topic (once) and sends `KEYNOTIFY key`. */
  async keyNotify(key: Uint8Array): Promise<InvokeResult> {
    if (!this.#subscribedNotify) {
      await this.#subscribe(this.#notifyFilter);
      this.#subscribedNotify = true;
    }
    return this.invoke(['KEYNOTIFY', key]);
  }

  /** Calls `listener` for every key notification. */
  onNotification(listener: (n: ReceivedNotification) => void): void {
    this.#listeners.push(listener);
  }

  /** Calls `listener` once if the connection is lost (not after {@link close}). */
  onLost(listener: (e: OpsError) => void): void {
    this.#lostListeners.push(listener);
  }

  /** Disconnects (registrations die with the connection). */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    await this.#client.endAsync().catch(() => undefined);
  }
}
