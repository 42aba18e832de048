import type { UserProperty } from '../protocol/user-properties.js';

/**
 * Which data goes to the store: the engine asks, the persistence policy (AIO `retain` /
 * `subscriberQueue` None | All | Custom + dynamic user property) answers. What is not persisted
 * lives in memory only. Session metadata of sessions with expiry > 0 is always stored.
 */
export interface PersistenceDecisions {
  /**
   * Whether a session's queue is written to the store. Asked at every CONNECT of a session with
   * expiry > 0 (a `true` holds from then on: messages queued after that are stored; on a resume a
   * `false` waits for a clean start, as AIO), and again for every session when the policy is
   * replaced or the broker starts, where the answer applies at once either way.
   */
  persistQueue(clientId: string, sessionExpirySeconds: number, connectUserProperties: readonly UserProperty[]): boolean;
  /** Whether a retained message (and a delayed will, which follows the same rule) is written to the store. */
  persistRetained(topic: string, userProperties: readonly UserProperty[]): boolean;
}

/** Without a policy everything the store can hold is written to it (the memory store costs little). */
export const PERSIST_EVERYTHING: PersistenceDecisions = Object.freeze({
  persistQueue: (_clientId: string, sessionExpirySeconds: number) => sessionExpirySeconds > 0,
  persistRetained: () => true,
});
