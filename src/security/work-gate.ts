/**
 * A bound on expensive work done for clients (password hashing): at most `maxRunning` tasks run at
 * once, at most `maxWaiting` wait (and at most `maxWaitingPerKey` of one key, e.g. one remote
 * address, so that one flooding address cannot take every waiting place); a task beyond those
 * bounds is not queued at all and the caller refuses the client (CONNACK 0x89 Server busy). A place
 * that frees up goes to the oldest waiting task of another key than the one that finished with
 * nothing running, else to the oldest: a login from a quiet address does not wait behind a flooding
 * address's queue.
 *
 * scrypt runs on libuv's thread pool (4 threads by default), which LevelDB and file I/O share, and
 * each check of the default cost takes 16 MiB: bounding it keeps the pool, memory and the latency of
 * a legitimate login bounded under a flood of guesses.
 */

/** The bounds of a {@link WorkGate}. */
export interface WorkGateLimits {
  readonly maxRunning: number;
  readonly maxWaiting: number;
  readonly maxWaitingPerKey: number;
}

/** Password checks at once: half the default thread pool, leaving the rest to the store and files. */
export const PASSWORD_CHECK_LIMITS: WorkGateLimits = Object.freeze({ maxRunning: 2, maxWaiting: 64, maxWaitingPerKey: 8 });

interface Waiter {
  readonly key: string;
  readonly start: () => void;
}

/** Runs tasks within the bounds; see the module comment. */
export class WorkGate {
  readonly #limits: WorkGateLimits;
  #running = 0;
  readonly #waiting: Waiter[] = [];
  readonly #waitingByKey = new Map<string, number>();
  readonly #runningByKey = new Map<string, number>();

  constructor(limits: WorkGateLimits = PASSWORD_CHECK_LIMITS) {
    this.#limits = limits;
  }

  /** Tasks running now. */
  get running(): number {
    return this.#running;
  }

  /** Tasks waiting now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Runs `task` now or once a place frees up; undefined (and `task` never called) when the bounds
   * are reached. `key` groups the waiting tasks of one requester (its remote address).
   */
  run<T>(key: string, task: () => Promise<T>): Promise<T> | undefined {
    if (this.#running < this.#limits.maxRunning && this.#waiting.length === 0) return this.#start(key, task);
    const mine = this.#waitingByKey.get(key) ?? 0;
    if (this.#waiting.length >= this.#limits.maxWaiting || mine >= this.#limits.maxWaitingPerKey) return undefined;
    this.#waitingByKey.set(key, mine + 1);
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push({ key, start: () => this.#start(key, task).then(resolve, reject) });
    });
  }

  #start<T>(key: string, task: () => Promise<T>): Promise<T> {
    this.#running++;
    count(this.#runningByKey, key, 1);
    let promise: Promise<T>;
    try {
      promise = task();
    } catch (error) {
      promise = Promise.reject(error);
    }
    return promise.finally(() => {
      this.#running--;
      count(this.#runningByKey, key, -1);
      this.#next(key);
    });
  }

  /** Starts waiting tasks while places are free: first another key than `finished`'s with nothing running. */
  #next(finished: string): void {
    while (this.#running < this.#limits.maxRunning && this.#waiting.length > 0) {
      const other = this.#waiting.findIndex((w) => w.key !== finished && !this.#runningByKey.has(w.key));
      const idle = other !== -1 ? other : this.#waiting.findIndex((w) => !this.#runningByKey.has(w.key));
      const [waiter] = this.#waiting.splice(idle === -1 ? 0 : idle, 1);
      if (waiter === undefined) return;
      count(this.#waitingByKey, waiter.key, -1);
      waiter.start();
    }
  }
}

/** Adds `delta` to a key's count, dropping the key at 0. */
function count(map: Map<string, number>, key: string, delta: number): void {
  const n = (map.get(key) ?? 0) + delta;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}
