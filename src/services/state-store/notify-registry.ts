/** KEYNOTIFY registrations: (client id, key) pairs, dropped when the client disconnects (§4). */

/** No observers (shared, never mutated). */
const NONE: readonly string[] = [];

/** Who observes which key. */
export class NotifyRegistry {
  /** key id (latin1 of key bytes) → client ids, in registration order. */
  readonly #byKey = new Map<string, Set<string>>();
  /** client id → key ids. */
  readonly #byClient = new Map<string, Set<string>>();

  /** Registers `clientId` for `keyId` (idempotent). */
  add(clientId: string, keyId: string): void {
    let clients = this.#byKey.get(keyId);
    if (clients === undefined) this.#byKey.set(keyId, (clients = new Set()));
    clients.add(clientId);
    let keys = this.#byClient.get(clientId);
    if (keys === undefined) this.#byClient.set(clientId, (keys = new Set()));
    keys.add(keyId);
  }

  /** Unregisters; returns whether the client was registered. */
  remove(clientId: string, keyId: string): boolean {
    const clients = this.#byKey.get(keyId);
    if (clients === undefined || !clients.delete(clientId)) return false;
    if (clients.size === 0) this.#byKey.delete(keyId);
    const keys = this.#byClient.get(clientId);
    keys?.delete(keyId);
    if (keys?.size === 0) this.#byClient.delete(clientId);
    return true;
  }

  /** Drops every registration of a client. */
  removeClient(clientId: string): void {
    const keys = this.#byClient.get(clientId);
    if (keys === undefined) return;
    this.#byClient.delete(clientId);
    for (const keyId of keys) {
      const clients = this.#byKey.get(keyId);
      clients?.delete(clientId);
      if (clients?.size === 0) this.#byKey.delete(keyId);
    }
  }

  /** The observers of a key (a snapshot). */
  observers(keyId: string): readonly string[] {
    const clients = this.#byKey.get(keyId);
    return clients === undefined ? NONE : [...clients];
  }

  /** Number of registrations. */
  get size(): number {
    let n = 0;
    for (const clients of this.#byKey.values()) n += clients.size;
    return n;
  }

  /** Drops everything. */
  clear(): void {
    this.#byKey.clear();
    this.#byClient.clear();
  }
}
