/**
 * Persistence of state-store keys (the persistence policy's `stateStore` component): keys the
 * policy selects are written through to the broker's store, with their version, fencing token
 * and expiry instant, and restored when the service starts.
 */
import type { Logger } from '../../shared/log.js';
import type { BrokerStore, Completion, StateStoreKeyRecord } from '../../storage/broker-store.js';
import type { HybridClock } from './server-clock.js';
import { keyIdOf, type ChangeEvent, type KeyStore, type StoredEntry } from './key-value-store.js';

/** MQTT v5 user properties as `[name, value]` pairs, in wire order. */
export type UserPropertyList = readonly (readonly [string, string])[];

/** Where and which state-store keys are persisted. */
export interface StateStorePersistence {
  /** The broker's store; without the optional state-store namespace, keys stay in memory. */
  readonly store: BrokerStore;
  /** Whether a SET of `key` with these user properties is persisted (the policy's decision). */
  decide(key: Buffer, userProperties: UserPropertyList): boolean;
}

/** What restoring found. */
export interface RestoreResult {
  readonly restored: number;
  /** Keys whose expiry passed while the broker was down (deleted from the store). */
  readonly expired: number;
}

function toRecord(entry: StoredEntry): StateStoreKeyRecord {
  return {
    key: entry.key,
    value: entry.value,
    version: entry.version,
    ...(entry.fencingToken !== undefined ? { fencingToken: entry.fencingToken } : {}),
    ...(entry.expiresAt !== undefined ? { expiresAt: entry.expiresAt } : {}),
  };
}

/** Writes the changes of the policy-selected keys through to the store. */
export class KeyPersistence {
  readonly #options: StateStorePersistence;
  readonly #logger: Logger;
  /** Keys that may have a record in the store (so a memory-only SET or a delete removes it). */
  readonly #persisted = new Set<string>();

  constructor(options: StateStorePersistence, logger: Logger) {
    this.#options = options;
    this.#logger = logger;
  }

  /** Whether the store has the state-store namespace at all. */
  get supported(): boolean {
    const s = this.#options.store;
    return s.loadStateStoreKeys !== undefined && s.putStateStoreKey !== undefined && s.deleteStateStoreKey !== undefined;
  }

  /**
   * Loads the persisted keys into `keys`: expired ones are deleted from the store, the others keep
   * value, version, fencing token and expiry instant (PX timers re-armed with the remaining time).
   * The clock is moved up to every restored version, so new versions stay above them.
   */
  async restore(keys: KeyStore, clock: HybridClock, now: number): Promise<RestoreResult> {
    const store = this.#options.store;
    if (!this.supported || store.loadStateStoreKeys === undefined) return { restored: 0, expired: 0 };
    const records = await store.loadStateStoreKeys();
    let expired = 0;
    const deletes: Promise<void>[] = [];
    for (const record of records) {
      if (record.expiresAt !== undefined && record.expiresAt <= now) {
        expired++;
        const done = store.deleteStateStoreKey?.(record.key);
        if (done !== undefined) deletes.push(done);
        continue;
      }
      clock.observe(record.version);
      keys.put(record.key, record.value, record.version, record.fencingToken, record.expiresAt);
      this.#persisted.add(keyIdOf(record.key));
    }
    await Promise.all(deletes);
    return { restored: records.length - expired, expired };
  }

  /**
   * The store writes for the changes of one request: a SET the policy selects is put, a SET it
   * does not select and a delete remove any stored record. `undefined` when nothing was written.
   */
  write(events: readonly ChangeEvent[], userProperties: UserPropertyList, keys: KeyStore): Completion {
    let pending: Promise<void>[] | undefined;
    for (const event of events) {
      const done = this.#writeOne(event, userProperties, keys);
      if (done !== undefined) (pending ??= []).push(done);
    }
    if (pending === undefined) return undefined;
    return pending.length === 1 ? pending[0] : Promise.all(pending).then(() => undefined);
  }

  /** Deletes the record of an expired key (in the background; failures are logged). */
  expired(event: ChangeEvent): void {
    const done = this.#delete(event.keyId, event.key);
    done?.catch((error: unknown) => this.#logger.warn({ err: String(error) }, 'state store: deleting an expired key from the store failed'));
  }

  #writeOne(event: ChangeEvent, userProperties: UserPropertyList, keys: KeyStore): Promise<void> | undefined {
    const store = this.#options.store;
    if (event.kind === 'set' && store.putStateStoreKey !== undefined && this.#decide(event.key, userProperties)) {
      const entry = keys.get(event.keyId);
      if (entry === undefined) return undefined;
      this.#persisted.add(event.keyId);
      const done = store.putStateStoreKey(toRecord(entry));
      return done instanceof Promise ? done : undefined;
    }
    return this.#delete(event.keyId, event.key);
  }

  #delete(keyId: string, key: Buffer): Promise<void> | undefined {
    const store = this.#options.store;
    if (!this.#persisted.delete(keyId) || store.deleteStateStoreKey === undefined) return undefined;
    const done = store.deleteStateStoreKey(key);
    if (!(done instanceof Promise)) return undefined;
    return done.catch((error: unknown) => {
      this.#persisted.add(keyId); // the record may still be there: a later change deletes it again
      throw error;
    });
  }

  #decide(key: Buffer, userProperties: UserPropertyList): boolean {
    try {
      return this.#options.decide(key, userProperties);
    } catch (error) {
      this.#logger.warn({ err: String(error) }, 'state store: persistence decision failed; key kept in memory only');
      return false;
    }
  }
}
