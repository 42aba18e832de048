/**
 * Callers waiting, each with a timeout, until a condition of theirs holds: the owner calls
 * {@link ConditionWaiters.settle} whenever what the conditions read may have changed. Bounded by the
 * callers (each waiter leaves at its condition or its timeout).
 */
export class ConditionWaiters {
  readonly #waiting = new Set<{ readonly ready: () => boolean; readonly resolve: (ready: boolean) => void; readonly timer: NodeJS.Timeout }>();

  /** Resolves true once `ready()` holds at a {@link settle} (at once when it holds now), false after `timeoutMs` or at {@link close}. */
  wait(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    if (ready()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const waiter = {
        ready,
        resolve,
        timer: setTimeout(() => {
          this.#waiting.delete(waiter);
          resolve(false);
        }, timeoutMs),
      };
      waiter.timer.unref();
      this.#waiting.add(waiter);
    });
  }

  /** Resolves every waiter whose condition holds now. */
  settle(): void {
    for (const waiter of this.#waiting) {
      if (!waiter.ready()) continue;
      this.#waiting.delete(waiter);
      clearTimeout(waiter.timer);
      waiter.resolve(true);
    }
  }

  /** Resolves every waiter with false. */
  close(): void {
    for (const waiter of this.#waiting) {
      clearTimeout(waiter.timer);
      waiter.resolve(false);
    }
    this.#waiting.clear();
  }

  get size(): number {
    return this.#waiting.size;
  }
}
