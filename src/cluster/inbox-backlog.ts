/**
 * Flow control between frontends: the cluster's counterpart of the standalone publisher throttle
 * (../broker/publisher-throttle.ts). A frontend forwarding QoS >= 1 messages faster than the
 * receiving frontend delivers them would grow that frontend's inbox stream (in Redis) without
 * bound, and spend its CPU accepting messages that only wait there. So the sender measures each
 * inbox's length (`XLEN`, in the pipeline of one forwarded `XADD` in {@link MEASURE_EVERY}; while
 * the inbox is held, by polling) and, while an inbox holds more than {@link HIGH_WATER} entries,
 * holds the acknowledgement of the messages it forwarded there (the PUBACK: the publisher's own
 * in-flight window then slows it down) until the inbox is back to {@link LOW_WATER}, polling its
 * length every {@link POLL_MS} meanwhile. The message itself is already in the inbox, durably:
 * holding changes when the publisher hears of it, never whether it is delivered.
 *
 * Never holds forever: an inbox whose length does not go down for {@link STALL_MS} (its frontend
 * died: the takeover drains it several seconds later), or whose length cannot be read (a master
 * failing over), holds no one until it goes down again.
 */
import type { RedisClusterCommands, RedisCommand, RedisReply } from '../storage/redis/cluster-commands.js';

/**
 * Messages waiting in an inbox above which the acknowledgements of messages forwarded to it are
 * held. `XLEN` counts entries, and an entry carries the messages one frontend published for another
 * in one turn (1 to 64): the messages waiting are estimated as the entries times the messages per
 * entry this frontend sends there (a moving average).
 */
export const HIGH_WATER = 4096;
/** Messages waiting (estimated as above) at which held acknowledgements are released. */
export const LOW_WATER = 2048;
/** One forwarded `XADD` in this many to an inbox also reads its length (every one while held). */
export const MEASURE_EVERY = 16;
/** While acknowledgements are held, the inbox's length is read again this often (ms). */
export const POLL_MS = 10;
/** An inbox whose length has not gone down for this long (ms) holds no one until it does. */
export const STALL_MS = 2000;

interface InboxState {
  /** Forwarded sends since the last measure. */
  sinceMeasure: number;
  /** The last length read (entries). */
  length: number;
  /** Messages per entry sent to this inbox (moving average). */
  perEntry: number;
  /** When the length last went down (or was first read above the high-water mark). */
  lastProgress: number;
  /** Held acknowledgements. */
  readonly waiters: (() => void)[];
  poll: NodeJS.Timeout | undefined;
  /** True while the length could not be read: hold no one. */
  unreadable: boolean;
}

/** The messages estimated to wait in an inbox. */
function waiting(state: InboxState): number {
  return state.length * state.perEntry;
}

/** See the file's comment. One per frontend, for the inboxes it forwards to. */
export class InboxBacklog {
  readonly #client: RedisClusterCommands;
  readonly #inboxes = new Map<string, InboxState>();
  readonly #now: () => number;
  #closed = false;

  constructor(client: RedisClusterCommands, now: () => number = Date.now) {
    this.#client = client;
    this.#now = now;
  }

  /** Acknowledgements held now (for stats and tests). */
  get held(): number {
    let n = 0;
    for (const state of this.#inboxes.values()) n += state.waiters.length;
    return n;
  }

  /**
   * The command to append to a forwarded message's `XADD` to inbox `key`, or undefined when this
   * send does not measure. Its reply goes to {@link measured}.
   */
  measureCommand(key: string): RedisCommand | undefined {
    const state = this.#inboxes.get(key);
    if (state === undefined) {
      this.#inboxes.set(key, { sinceMeasure: 0, length: 0, perEntry: 1, lastProgress: this.#now(), waiters: [], poll: undefined, unreadable: false });
      return ['XLEN', key];
    }
    if (state.waiters.length === 0 && ++state.sinceMeasure >= MEASURE_EVERY) {
      state.sinceMeasure = 0;
      return ['XLEN', key];
    }
    return undefined;
  }

  /** An entry of `messages` messages was sent to inbox `key` (call after {@link measureCommand}). */
  sent(key: string, messages: number): void {
    const state = this.#inboxes.get(key);
    if (state !== undefined) state.perEntry += (messages - state.perEntry) / 8;
  }

  /** The reply of a {@link measureCommand} (anything but an integer counts as unreadable). */
  measured(key: string, reply: RedisReply | undefined): void {
    const state = this.#inboxes.get(key);
    if (state === undefined) return;
    this.#update(key, state, typeof reply === 'number' && Number.isSafeInteger(reply) && reply >= 0 ? reply : undefined);
  }

  /**
   * Resolves when a message forwarded to inbox `key` may be acknowledged: at once unless the inbox
   * is above the high-water mark (and progressing, and readable).
   */
  room(key: string): Promise<void> | undefined {
    const state = this.#inboxes.get(key);
    if (state === undefined || this.#closed || !this.#holds(state)) return undefined;
    return new Promise<void>((resolve) => {
      state.waiters.push(resolve);
      this.#schedulePoll(key, state);
    });
  }

  /** Releases everything held and stops polling. */
  close(): void {
    this.#closed = true;
    for (const [key, state] of this.#inboxes) this.#release(key, state);
    this.#inboxes.clear();
  }

  #holds(state: InboxState): boolean {
    return !state.unreadable && waiting(state) > HIGH_WATER && this.#now() - state.lastProgress < STALL_MS;
  }

  #update(key: string, state: InboxState, length: number | undefined): void {
    if (length === undefined) {
      state.unreadable = true;
      this.#release(key, state);
      return;
    }
    state.unreadable = false;
    // Progress: the length went down, or the inbox just went above the high-water mark.
    const was = waiting(state);
    if (length < state.length || (was <= HIGH_WATER && length * state.perEntry > HIGH_WATER)) state.lastProgress = this.#now();
    state.length = length;
    if (waiting(state) <= LOW_WATER || this.#now() - state.lastProgress >= STALL_MS) this.#release(key, state);
  }

  #release(key: string, state: InboxState): void {
    if (state.poll !== undefined) clearTimeout(state.poll);
    state.poll = undefined;
    const waiters = state.waiters.splice(0);
    for (const resolve of waiters) resolve();
    // A quiet inbox is forgotten (a gone frontend's included): the map holds the inboxes in use.
    if (waiting(state) <= LOW_WATER && !this.#closed) this.#inboxes.delete(key);
  }

  #schedulePoll(key: string, state: InboxState): void {
    if (state.poll !== undefined) return;
    state.poll = setTimeout(() => {
      state.poll = undefined;
      if (this.#closed || state.waiters.length === 0) return;
      this.#client.exec(key, [['XLEN', key]]).then(
        ([reply]) => {
          if (this.#closed) return;
          this.#update(key, state, typeof reply === 'number' && Number.isSafeInteger(reply) && reply >= 0 ? reply : undefined);
          if (state.waiters.length > 0) this.#schedulePoll(key, state);
        },
        () => this.#update(key, state, undefined),
      );
    }, POLL_MS);
    state.poll.unref();
  }
}
