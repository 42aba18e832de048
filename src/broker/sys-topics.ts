import type { BrokerCore } from './broker-core.js';
import { watchCompletion } from './completion.js';
import { Message } from './message.js';

/** The `$SYS/broker/...` topics, mosquitto's names where one exists. */
export function sysTopicValues(core: BrokerCore): [string, string | number][] {
  const s = core.stats();
  return [
    ['$SYS/broker/version', 'ops-broker'],
    ['$SYS/broker/uptime', `${s.uptimeSeconds} seconds`],
    ['$SYS/broker/clients/connected', s.clients.connected],
    ['$SYS/broker/clients/disconnected', s.clients.disconnectedSessions],
    ['$SYS/broker/clients/total', s.clients.sessions],
    ['$SYS/broker/clients/maximum', s.clients.maxConnected],
    ['$SYS/broker/connections/total', s.clients.totalConnections],
    ['$SYS/broker/subscriptions/count', s.subscriptions],
    ['$SYS/broker/retained messages/count', s.retained],
    ['$SYS/broker/messages/received', s.messages.received],
    ['$SYS/broker/messages/sent', s.messages.sent],
    ['$SYS/broker/messages/dropped', s.messages.dropped],
    ['$SYS/broker/messages/dropped/queue full', s.messages.queueFullDrops],
    ['$SYS/broker/messages/undeliverable', s.messages.undeliverable],
    ['$SYS/broker/errors/contained', s.internalErrors],
    ['$SYS/broker/messages/queued', s.messages.queued],
    ['$SYS/broker/messages/inflight', s.messages.inflight],
    ['$SYS/broker/bytes/received', s.bytes.received],
    ['$SYS/broker/bytes/sent', s.bytes.sent],
  ];
}

/** Publishes the `$SYS` topics as retained messages every interval (not persisted). */
export class SysTopicPublisher {
  readonly #core: BrokerCore;
  #timer: NodeJS.Timeout | undefined;

  constructor(core: BrokerCore) {
    this.#core = core;
  }

  start(intervalSeconds: number): void {
    if (intervalSeconds <= 0) return;
    const publish = (): void => void this.#core.faults.run('sys-topics', undefined, () => this.publishNow());
    publish();
    this.#timer = setInterval(publish, intervalSeconds * 1000);
    this.#timer.unref();
  }

  /** Publishes every `$SYS` value once. */
  publishNow(): void {
    for (const [topic, value] of sysTopicValues(this.#core)) {
      const message = new Message({ topic, payload: Buffer.from(String(value)), qos: 0, retain: true });
      message.ephemeral = true; // figures of this run: never written to the store
      watchCompletion(this.#core.publish(message).completion, (e) => this.#core.onStoreError(e));
    }
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
