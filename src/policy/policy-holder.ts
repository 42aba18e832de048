/**
 * Holds the current persistence policy of a running broker. `replace` swaps it atomically:
 * decisions made after the swap use the new policy; data already stored is not moved.
 */
import type { Persistence } from '../config/types.js';
import { toPersistPolicy, type PersistPolicy } from './persist-policy.js';

/** The live policy plus its version (1 at start, +1 per replace) and when it was applied. */
export class PolicyHolder {
  #policy: PersistPolicy;
  #version = 1;
  #appliedAt = new Date();

  constructor(persistence: Persistence | undefined) {
    this.#policy = toPersistPolicy(persistence);
  }

  /** The current policy. */
  get policy(): PersistPolicy {
    return this.#policy;
  }

  /** Increments with every replace. */
  get version(): number {
    return this.#version;
  }

  /** When the current policy was applied. */
  get appliedAt(): Date {
    return this.#appliedAt;
  }

  /** Swaps in the policy of `persistence`; readers of `policy` see the new one from now on. */
  replace(persistence: Persistence | undefined): PersistPolicy {
    this.#policy = toPersistPolicy(persistence);
    this.#version += 1;
    this.#appliedAt = new Date();
    return this.#policy;
  }
}
