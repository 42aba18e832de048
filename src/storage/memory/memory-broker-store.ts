import type {
  BrokerStore,
  MessageRecord,
  QueueEntryRecord,
  SessionRecord,
  StateStoreKeyRecord,
} from '../broker-store.js';

/**
 * In-memory {@link BrokerStore}. Writes complete synchronously. A broker created again on the
 * same instance (in the same process) restores sessions, queues and retained messages from it.
 */
export class MemoryBrokerStore implements BrokerStore {
  readonly durable = false;
  readonly #sessions = new Map<string, SessionRecord>();
  readonly #queues = new Map<string, Map<number, QueueEntryRecord>>();
  readonly #retained = new Map<string, MessageRecord>();
  /** State-store keys by their bytes as latin1 (a bijection of bytes and strings). */
  readonly #stateStore = new Map<string, StateStoreKeyRecord>();

  async loadSessions(): Promise<SessionRecord[]> {
    return [...this.#sessions.values()];
  }

  saveSession(record: SessionRecord): void {
    this.#sessions.set(record.clientId, record);
  }

  deleteSession(clientId: string): void {
    this.#sessions.delete(clientId);
    this.#queues.delete(clientId);
  }

  async loadQueue(clientId: string): Promise<QueueEntryRecord[]> {
    const queue = this.#queues.get(clientId);
    if (queue === undefined) return [];
    return [...queue.values()].sort((a, b) => a.seq - b.seq);
  }

  putQueueEntries(clientId: string, entries: readonly QueueEntryRecord[]): void {
    let queue = this.#queues.get(clientId);
    if (queue === undefined) {
      queue = new Map();
      this.#queues.set(clientId, queue);
    }
    for (const entry of entries) queue.set(entry.seq, entry);
  }

  deleteQueueEntries(clientId: string, seqs: readonly number[]): void {
    const queue = this.#queues.get(clientId);
    if (queue === undefined) return;
    for (const seq of seqs) queue.delete(seq);
  }

  async loadRetained(): Promise<MessageRecord[]> {
    return [...this.#retained.values()];
  }

  putRetained(message: MessageRecord): void {
    this.#retained.set(message.topic, message);
  }

  deleteRetained(topic: string): void {
    this.#retained.delete(topic);
  }

  async loadStateStoreKeys(): Promise<StateStoreKeyRecord[]> {
    return [...this.#stateStore.values()].map(copyStateStoreKey);
  }

  putStateStoreKey(record: StateStoreKeyRecord): void {
    this.#stateStore.set(record.key.toString('latin1'), copyStateStoreKey(record));
  }

  deleteStateStoreKey(key: Buffer): void {
    this.#stateStore.delete(key.toString('latin1'));
  }

  async close(): Promise<void> {
    // Nothing to release: the data stays for a broker created again on this store.
  }
}

/** A copy whose Buffers the caller cannot change afterwards (the level store copies by encoding). */
function copyStateStoreKey(record: StateStoreKeyRecord): StateStoreKeyRecord {
  return { ...record, key: Buffer.from(record.key), value: Buffer.from(record.value) };
}
