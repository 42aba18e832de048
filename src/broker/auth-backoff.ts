/**
 * Per-address failed-authentication backoff (fail2ban / EMQX flapping style): after
 * `maxAuthFailuresPerAddress` failed authentications from one remote address within
 * `authFailureWindowSeconds`, CONNECTs from that address are refused before authentication runs
 * (CONNACK 0x8A Banned, no password check) for `authBlockSeconds`. Each further block of an address
 * that is still remembered doubles, up to {@link MAX_BLOCK_MULTIPLIER} times the base, so a patient
 * guesser gets fewer guesses per hour than a hasty one.
 *
 * Refusing at once was chosen over delaying the answer: a delay holds the connection (and its
 * buffers) open and does not slow a guesser that opens connections in parallel, while a refusal
 * costs one CONNACK. Other addresses are never affected. Memory is bounded: at most
 * {@link MAX_TRACKED_ADDRESSES} addresses are remembered (the least recently failed one is
 * forgotten first), and an address is forgotten once its window and its block are over.
 */
import { ReasonCode } from '../protocol/reason-codes.js';

/** The settings (see ConnectionLimits in broker-options.ts); `maxAuthFailuresPerAddress` 0 turns the backoff off. */
export interface AuthBackoffLimits {
  readonly maxAuthFailuresPerAddress: number;
  readonly authFailureWindowSeconds: number;
  readonly authBlockSeconds: number;
}

/** Most addresses remembered at once. */
export const MAX_TRACKED_ADDRESSES = 16_384;
/** A repeated block lasts at most this many times `authBlockSeconds`. */
export const MAX_BLOCK_MULTIPLIER = 64;
/** How often forgotten-worthy addresses are dropped. */
const PRUNE_INTERVAL_MS = 10_000;

interface Entry {
  /** Failures counted in the current window. */
  failures: number;
  windowStart: number;
  /** Refuse until then (0: not blocked). */
  blockedUntil: number;
  /** Length of the last block, ms (0: never blocked). */
  lastBlockMs: number;
}

/** Failed authentications per remote address, and the blocks they caused. */
export class AuthBackoff {
  #limits: AuthBackoffLimits;
  readonly #entries = new Map<string, Entry>();
  #prunedAt: number;

  constructor(limits: AuthBackoffLimits, now = Date.now()) {
    this.#limits = limits;
    this.#prunedAt = now;
  }

  /** Replaces the settings; blocks in force keep their end. */
  setLimits(limits: AuthBackoffLimits): void {
    this.#limits = limits;
  }

  /** The settings in force. */
  get limits(): AuthBackoffLimits {
    return this.#limits;
  }

  /** Addresses remembered now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Milliseconds `address` stays blocked (0: it may authenticate). */
  blockedFor(address: string, now = Date.now()): number {
    if (this.#limits.maxAuthFailuresPerAddress === 0) return 0;
    if (now - this.#prunedAt >= PRUNE_INTERVAL_MS) this.#prune(now);
    const entry = this.#entries.get(address);
    return entry === undefined || entry.blockedUntil <= now ? 0 : entry.blockedUntil - now;
  }

  /**
   * Counts a failed authentication from `address`; returns the length of the block it started, in
   * ms, or 0 when it started none.
   */
  failed(address: string, now = Date.now()): number {
    const { maxAuthFailuresPerAddress: max, authFailureWindowSeconds, authBlockSeconds } = this.#limits;
    if (max === 0) return 0;
    if (now - this.#prunedAt >= PRUNE_INTERVAL_MS) this.#prune(now);
    let entry = this.#entries.get(address);
    if (entry === undefined) {
      if (this.#entries.size >= MAX_TRACKED_ADDRESSES) this.#forgetOldest();
      entry = { failures: 0, windowStart: now, blockedUntil: 0, lastBlockMs: 0 };
    } else {
      this.#entries.delete(address); // re-inserted below: the map stays in order of last failure
    }
    this.#entries.set(address, entry);
    if (now - entry.windowStart >= authFailureWindowSeconds * 1000) {
      entry.failures = 0;
      entry.windowStart = now;
    }
    entry.failures++;
    if (entry.failures < max) return 0;
    const base = authBlockSeconds * 1000;
    const blockMs = entry.lastBlockMs === 0 ? base : Math.min(entry.lastBlockMs * 2, base * MAX_BLOCK_MULTIPLIER);
    entry.lastBlockMs = blockMs;
    entry.blockedUntil = now + blockMs;
    entry.failures = 0;
    entry.windowStart = entry.blockedUntil;
    return blockMs;
  }

  /** Forgets an address whose window is over and whose last block is as long past as it lasted. */
  #prune(now: number): void {
    this.#prunedAt = now;
    const windowMs = this.#limits.authFailureWindowSeconds * 1000;
    for (const [address, entry] of this.#entries) {
      if (now - entry.windowStart >= windowMs && now >= entry.blockedUntil + entry.lastBlockMs) this.#entries.delete(address);
    }
  }

  #forgetOldest(): void {
    const oldest = this.#entries.keys().next();
    if (oldest.done !== true) this.#entries.delete(oldest.value);
  }
}

/**
 * Whether a refused authentication counts towards the backoff: refusals of the client's credentials
 * or identity (0x86, 0x87, 0x8A, 0x8C), not the broker's own trouble (0x88 unavailable, 0x89 busy, 0x80).
 */
export function isCredentialFailure(reasonCode: number): boolean {
  return (
    reasonCode === ReasonCode.BadUserNameOrPassword ||
    reasonCode === ReasonCode.NotAuthorized ||
    reasonCode === ReasonCode.Banned ||
    reasonCode === ReasonCode.BadAuthenticationMethod
  );
}
