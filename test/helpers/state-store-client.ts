import { randomUUID } from 'node:crypto';
import type { IClientPublishOptions, IPublishPacket, MqttClient } from 'mqtt';
import { notificationFilter, notificationTopic, REQUEST_TOPIC, STATE_STORE_ID } from '../../src/shared/state-store-wire.js';
import { encodeArray } from '../../src/services/state-store/resp3-server.js';
import type { RunningBroker } from './start-broker.js';

/** A state store reply as a client sees it. */
export interface Reply {
  readonly payload: Buffer;
  readonly text: string;
  readonly packet: IPublishPacket;
  readonly stat: string | undefined;
  readonly ts: string | undefined;
}

/** A received key notification. */
export interface Notification {
  readonly topic: string;
  readonly payload: Buffer;
  readonly text: string;
  readonly packet: IPublishPacket;
  readonly ts: string | undefined;
}

/** Correlation data of {@link StateStoreTestClient.untilServed}'s probes. */
const PROBE = Buffer.from('ops-test-probe');

/** Rejects after `ms` (bounded waits, never used as synchronisation). */
export function within<T>(promise: Promise<T>, ms = 5000, what = 'reply'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
    }),
  ]);
}

function prop(packet: IPublishPacket, name: string): string | undefined {
  const v = packet.properties?.userProperties?.[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A minimal state store invoker on a real MQTT v5 client (Rust SDK topic shapes). */
export class StateStoreTestClient {
  readonly client: MqttClient;
  readonly clientId: string;
  readonly responseTopic: string;
  readonly #pending = new Map<string, (reply: Reply) => void>();
  readonly #notifications: Notification[] = [];
  readonly #waiters: ((n: Notification) => void)[] = [];
  /** Every response received, in order. */
  readonly responses: Reply[] = [];

  private constructor(client: MqttClient, clientId: string) {
    this.client = client;
    this.clientId = clientId;
    this.responseTopic = `clients/${clientId}/services/statestore/v1/${STATE_STORE_ID}/command/invoke/response`;
    client.on('message', (topic, payload, packet) => {
      if (topic === this.responseTopic) {
        const reply: Reply = { payload, text: payload.toString('latin1'), packet, stat: prop(packet, '__stat'), ts: prop(packet, '__ts') };
        const key = packet.properties?.correlationData?.toString('hex') ?? '';
        if (key !== PROBE.toString('hex')) this.responses.push(reply);
        const resolve = this.#pending.get(key);
        this.#pending.delete(key);
        resolve?.(reply);
      } else if (topic.includes('/command/notify/')) {
        const n: Notification = { topic, payload, text: payload.toString('latin1'), packet, ts: prop(packet, '__ts') };
        const waiter = this.#waiters.shift();
        if (waiter === undefined) this.#notifications.push(n);
        else waiter(n);
      }
    });
  }

  /**
   * Connects `clientId` (v5) and subscribes its notification and response topics (No Local as
   * asked), in that order: in cluster mode, once the response subscription is known where the state
   * store runs, the notification one is too (see {@link untilServed}).
   */
  static async connect(running: Pick<RunningBroker, 'connect'>, clientId: string = `ss-${randomUUID()}`, noLocal = true): Promise<StateStoreTestClient> {
    const client = await running.connect({ protocolVersion: 5, clientId });
    const self = new StateStoreTestClient(client, clientId);
    await client.subscribeAsync(notificationFilter(clientId), { qos: 1, nl: noLocal });
    await client.subscribeAsync(self.responseTopic, { qos: 1, nl: noLocal });
    return self;
  }

  /**
   * Cluster mode: resolves once a request is answered (the state store's subscription reached this
   * client's frontend, and this client's subscriptions reached the state store's frontend: both
   * spread through the subscription directory after SUBACK). Probes with `GET` under one correlation
   * data (the duplicate-request cache answers a repeat alike); probe replies are not in {@link responses}.
   */
  async untilServed(totalMs = 15_000, attemptMs = 1000): Promise<void> {
    const deadline = Date.now() + totalMs;
    for (;;) {
      const reply = await this.invoke(['GET', 'ops-test-probe'], { __ts: `${Date.now()}:0:${this.clientId}` }, { correlationData: PROBE, timeoutMs: attemptMs }).catch(() => undefined);
      if (reply !== undefined) return;
      if (Date.now() > deadline) throw new Error(`the state store did not answer ${this.clientId} within ${totalMs} ms`);
    }
  }

  /** The notification topic of this client for `key`. */
  notifyTopic(key: string | Buffer): string {
    return notificationTopic(this.clientId, Buffer.from(key));
  }

  /** Sends a request (elements or raw payload) and resolves with its reply. */
  invoke(
    request: readonly (string | Buffer)[] | Buffer,
    userProperties: Record<string, string> = { __ts: `${Date.now()}:0:${this.clientId}` },
    options: { correlationData?: Buffer; qos?: 0 | 1 | 2; responseTopic?: string; timeoutMs?: number } = {},
  ): Promise<Reply> {
    const payload = Buffer.isBuffer(request) ? request : encodeArray(request);
    const correlationData = options.correlationData ?? Buffer.from(randomUUID().replaceAll('-', ''), 'hex');
    const reply = new Promise<Reply>((resolve) => this.#pending.set(correlationData.toString('hex'), resolve));
    const publish: IClientPublishOptions = {
      qos: options.qos ?? 1,
      properties: { responseTopic: options.responseTopic ?? this.responseTopic, correlationData, contentType: 'application/octet-stream', messageExpiryInterval: 10, ...(Object.keys(userProperties).length > 0 ? { userProperties } : {}) },
    };
    this.client.publish(REQUEST_TOPIC, payload, publish);
    return within(reply, options.timeoutMs);
  }

  /** Resolves with the next key notification. */
  nextNotification(ms = 5000): Promise<Notification> {
    const queued = this.#notifications.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return within(new Promise<Notification>((resolve) => this.#waiters.push(resolve)), ms, 'notification');
  }

  /** Notifications received and not yet taken. */
  get queuedNotifications(): number {
    return this.#notifications.length;
  }
}

/** A fresh `__ts` for a client. */
export function ts(node = 'client', at: number = Date.now()): string {
  return `${at}:0:${node}`;
}
