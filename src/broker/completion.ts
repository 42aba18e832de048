import type { Completion } from '../storage/broker-store.js';

/** Collects the completions of several store writes into one. */
export class CompletionSet {
  #pending: Promise<void>[] | undefined;

  add(completion: Completion): void {
    if (completion === undefined) return;
    (this.#pending ??= []).push(completion);
  }

  /** `undefined` when every write completed synchronously. */
  done(): Completion {
    const pending = this.#pending;
    if (pending === undefined) return undefined;
    return pending.length === 1 ? pending[0] : Promise.all(pending).then(() => undefined);
  }
}

/** Runs `onError` if an asynchronous write fails; for writes nobody waits on. */
export function watchCompletion(completion: Completion | false, onError: (error: unknown) => void): void {
  if (completion !== undefined && completion !== false) completion.catch(onError);
}
