import { topicMatches } from '../shared/topic.js';
import type { BrokerStore, Completion } from '../storage/broker-store.js';
import { watchCompletion } from './completion.js';
import type { Message } from './message.js';
import type { PersistenceDecisions } from './persistence-decisions.js';

/** Retained messages by topic, written through to the store [MQTT-3.3.1-5]. */
export class RetainedMessages {
  readonly #byTopic = new Map<string, Message>();
  readonly #store: BrokerStore;
  readonly #decisions: PersistenceDecisions;
  readonly #onStoreError: (error: unknown) => void;
  /** Held topics that start with `$` (the broker's own, e.g. `$SYS/...`): not the users'. */
  #systemCount = 0;

  constructor(store: BrokerStore, decisions: PersistenceDecisions, onStoreError: (error: unknown) => void) {
    this.#store = store;
    this.#decisions = decisions;
    this.#onStoreError = onStoreError;
  }

  get size(): number {
    return this.#byTopic.size;
  }

  /** Retained messages on `$` topics (the broker's own, e.g. `$SYS/...`); the rest are the users'. */
  get systemSize(): number {
    return this.#systemCount;
  }

  /** Sets the topic's message, keeping the `$` count. */
  #hold(topic: string, message: Message): void {
    if (!this.#byTopic.has(topic) && topic.startsWith('$')) this.#systemCount++;
    this.#byTopic.set(topic, message);
  }

  /** Drops the topic's message, keeping the `$` count. */
  #drop(topic: string): void {
    if (this.#byTopic.delete(topic) && topic.startsWith('$')) this.#systemCount--;
  }

  /**
   * Loads a message restored from the store (no write back). The policy in force at the start
   * decides, as AIO: a message whose topic (or user property) it no longer persists is not restored
   * and is deleted from the store. Returns whether it was restored.
   */
  restore(message: Message): boolean {
    if (!this.#decisions.persistRetained(message.topic, message.properties?.userProperties ?? [])) {
      watchCompletion(this.#store.deleteRetained(message.topic), this.#onStoreError);
      return false;
    }
    message.stored = true;
    this.#hold(message.topic, message);
    return true;
  }

  /**
   * Stores or (empty payload) removes the retained message of the topic [MQTT-3.3.1-6] [MQTT-3.3.1-7].
   * Returns the store's completion. When the store refuses the write, the in-memory copy is rolled
   * back to what the store still holds (unless a newer message replaced it meanwhile): memory never
   * serves a retained message its publisher was told failed.
   */
  set(message: Message): Completion {
    const previous = this.#byTopic.get(message.topic);
    if (message.payload.length === 0) {
      if (previous === undefined) return undefined;
      this.#drop(message.topic);
      return previous.stored ? this.#store.deleteRetained(message.topic) : undefined;
    }
    this.#hold(message.topic, message);
    // The persistence policy decides per message (topic filters, dynamic user property).
    if (!message.ephemeral && this.#decisions.persistRetained(message.topic, message.properties?.userProperties ?? [])) {
      message.stored = true;
      let completion: Completion;
      try {
        completion = this.#store.putRetained(message.toRecord());
      } catch (error) {
        this.#rollBack(message, previous);
        throw error;
      }
      if (completion !== undefined) completion.catch(() => this.#rollBack(message, previous));
      return completion;
    }
    // Kept in memory only; a stored older value must not come back after a restart.
    return previous?.stored === true ? this.#store.deleteRetained(message.topic) : undefined;
  }

  /**
   * Cluster mode: another frontend set (or, with an empty payload, cleared) the topic's message and
   * wrote the shared store; only this frontend's copy changes.
   */
  mirror(message: Message): void {
    if (message.payload.length === 0) {
      if (this.#byTopic.has(message.topic)) this.#drop(message.topic);
      return;
    }
    message.stored = this.#decisions.persistRetained(message.topic, message.properties?.userProperties ?? []);
    this.#hold(message.topic, message);
  }

  /**
   * Cluster mode: this frontend's copy of the users' retained messages (not `$` topics) becomes
   * `messages` (read from the shared store again).
   */
  replaceUsers(messages: readonly Message[]): void {
    for (const topic of [...this.#byTopic.keys()]) if (!topic.startsWith('$')) this.#drop(topic);
    for (const message of messages) this.mirror(message);
  }

  /** A failed write of `message`: the topic holds `previous` again (the store's value), if `message` is still current. */
  #rollBack(message: Message, previous: Message | undefined): void {
    message.stored = false;
    if (this.#byTopic.get(message.topic) !== message) return;
    if (previous === undefined) this.#drop(message.topic);
    else this.#hold(message.topic, previous);
  }

  /** Retained messages matching a filter, expired ones removed on the way [MQTT-3.3.2-5]. */
  match(filter: string, now: number): Message[] {
    const out: Message[] = [];
    for (const [topic, message] of this.#byTopic) {
      if (!topicMatches(filter, topic)) continue;
      if (message.isExpired(now)) {
        this.#drop(topic);
        if (message.stored) watchCompletion(this.#store.deleteRetained(topic), this.#onStoreError);
        continue;
      }
      out.push(message);
    }
    return out;
  }
}
