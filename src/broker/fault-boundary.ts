/**
 * The error boundary of the engine's work: an exception inside one client's work (a packet, a
 * delivery, a will, a timer, a callback) is logged (rate-limited per area), counted in
 * `internalErrors`, and never thrown further, so it can never reach `uncaughtException` or become
 * an unhandled rejection. The caller decides what else happens (at worst one client is
 * disconnected with 0x83).
 */
import type { Logger } from '../shared/log.js';
import { logRateLimited } from './abuse-log.js';
import type { Counters } from './counters.js';

/** Where contained work ran; each area has its own log rate limit. */
export type FaultArea =
  | 'packet'
  | 'socket-input'
  | 'connection-close'
  | 'connect-decision'
  | 'connect-claim'
  | 'cluster'
  | 'subscribe'
  | 'stored-ack'
  | 'delivery'
  | 'will'
  | 'will-delay'
  | 'session-expiry'
  | 'sys-topics'
  | 'local-client'
  | 'timeout-sweep'
  | 'output-drain'
  | 'attach';

/** Log fields of an error: its code, message and the top of its stack. */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { err: String(error) };
  const code = (error as Error & { code?: unknown }).code;
  return {
    err: error.message,
    ...(typeof code === 'string' ? { errCode: code } : {}),
    ...(error.stack !== undefined ? { stack: error.stack.split('\n').slice(0, 10).join('\n') } : {}),
  };
}

/** Contains errors: reports them (log + counter) and returns normally. */
export class FaultBoundary {
  readonly #logger: Logger;
  readonly #counters: Counters;

  constructor(logger: Logger, counters: Counters) {
    this.#logger = logger;
    this.#counters = counters;
  }

  /** Records a contained error of `area` (of the client `clientId`, when one is concerned). */
  report(area: FaultArea, error: unknown, clientId?: string): void {
    this.#counters.internalErrors++;
    logRateLimited(
      this.#logger,
      'error',
      `fault:${area}`,
      { area, ...(clientId !== undefined && clientId !== '' ? { clientId } : {}), ...describeError(error) },
      'internal error contained',
    );
  }

  /** Runs `work`; true when it completed, false when it threw (the error is reported). */
  run(area: FaultArea, clientId: string | undefined, work: () => void): boolean {
    try {
      work();
      return true;
    } catch (error) {
      this.report(area, error, clientId);
      return false;
    }
  }

  /** `callback` wrapped for a timer or a promise continuation: its errors are contained. */
  wrap<A extends unknown[]>(area: FaultArea, clientId: string | undefined, callback: (...args: A) => void): (...args: A) => void {
    return (...args: A) => {
      this.run(area, clientId, () => callback(...args));
    };
  }

  /**
   * A message that could not be encoded (a bad stored message, a message model the encoder
   * refuses): skipped instead of delivered, counted in `messagesUndeliverable`, logged (rate-limited).
   */
  undeliverable(topic: string, error: unknown, clientId?: string): void {
    this.#counters.messagesUndeliverable++;
    logRateLimited(
      this.#logger,
      'warn',
      'undeliverable-message',
      { topic, ...(clientId !== undefined ? { clientId } : {}), ...describeError(error) },
      'message skipped: it cannot be encoded',
    );
  }
}
