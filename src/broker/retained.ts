import { topicMatches } from '../shared/topic.js';
import type { BrokerStore, Completion } from '../storage/broker-store.js';
import type { Message } from './message.js';

/** Retained messages by topic, written through to the store [MQTT-3.3.1-5]. */
export class RetainedMessages {
  readonly #byTopic = new Map<string, Message>();
  readonly #store: BrokerStore;

  constructor(store: BrokerStore) {
    this.#store = store;
  }

  get size(): number {
    return this.#byTopic.size;
  }

  /** Loads a message restored from the store (no write back). */
  restore(message: Message): void {
    this.#byTopic.set(message.topic, message);
  }

  /**
   * Stores or (empty payload) removes the retained message of the topic [MQTT-3.3.1-6] [MQTT-3.3.1-7].
   * Returns the store's completion.
   */
  set(message: Message): Completion {
    if (message.payload.length === 0) {
      if (!this.#byTopic.delete(message.topic)) return undefined;
      return this.#store.deleteRetained(message.topic);
    }
    this.#byTopic.set(message.topic, message);
    if (message.ephemeral) return undefined;
    return this.#store.putRetained(message.toRecord());
  }

  /** Retained messages matching a filter, expired ones removed on the way [MQTT-3.3.2-5]. */
  match(filter: string, now: number): Message[] {
    const out: Message[] = [];
    for (const [topic, message] of this.#byTopic) {
      if (!topicMatches(filter, topic)) continue;
      if (message.isExpired(now)) {
        this.#byTopic.delete(topic);
        void this.#store.deleteRetained(topic);
        continue;
      }
      out.push(message);
    }
    return out;
  }
}
