/** Runs the operations of each key (a client id) one after another: the level spill buffer needs read-after-write order per client. */
export class PerKeySerializer {
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Runs `op` once every operation run before for `key` has settled; resolves or rejects as `op` does. */
  run<T>(key: string, op: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const next = previous.then(op, op);
    const tail = next.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return next;
  }
}
