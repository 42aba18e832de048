/**
 * Per-remote-address connection limits: how many connections one address may hold open, and how
 * many it may open per second (a token bucket per address). Addresses with nothing open and a
 * full bucket are forgotten, so the table stays as small as the set of busy addresses.
 */
import type { ResolvedConnectionLimits } from './broker-options.js';

/** What to do with a new connection: serve it, refuse it with a CONNACK reason, or drop it unread. */
export type Admission = 'ok' | 'too-many' | 'too-fast' | 'drop';

/** Refusals answered with a CONNACK that may be pending per address; more are closed unread. */
export const MAX_PENDING_REFUSALS = 16;

/** How often idle addresses are forgotten. */
const PRUNE_INTERVAL_MS = 10_000;

interface Entry {
  /** Connections admitted and still open. */
  open: number;
  /** Refused connections waiting for their CONNECT (to answer it with a reason). */
  refusing: number;
  /** Connection tokens left (rate limit). */
  tokens: number;
  refilledAt: number;
}

/** "::ffff:10.0.0.1" and "10.0.0.1" are one address. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** Admission control per remote address. */
export class AddressLimiter {
  #limits: ResolvedConnectionLimits;
  readonly #entries = new Map<string, Entry>();
  #prunedAt = Date.now();

  constructor(limits: ResolvedConnectionLimits) {
    this.#limits = limits;
  }

  /** The limits in force. */
  get limits(): ResolvedConnectionLimits {
    return this.#limits;
  }

  /** Replaces the limits; connections already open stay open (and counted). */
  setLimits(limits: ResolvedConnectionLimits): void {
    this.#limits = limits;
  }

  /** Addresses tracked now (for tests and stats). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Decides a new connection from `address`. `ok` counts it as open (call {@link connectionClosed} when it
   * closes); `too-many`/`too-fast` count it as a pending refusal (call {@link refusalDone}).
   */
  admit(address: string, now = Date.now()): Admission {
    if (now - this.#prunedAt >= PRUNE_INTERVAL_MS) this.#prune(now);
    const { maxConnectionsPerAddress: maxOpen, maxConnectionRatePerAddress: rate } = this.#limits;
    let entry = this.#entries.get(address);
    if (entry === undefined) this.#entries.set(address, (entry = { open: 0, refusing: 0, tokens: rate, refilledAt: now }));
    let verdict: Admission = 'ok';
    if (rate > 0) {
      entry.tokens = Math.min(rate, entry.tokens + ((now - entry.refilledAt) / 1000) * rate);
      entry.refilledAt = now;
      if (entry.tokens < 1) verdict = 'too-fast';
    }
    if (verdict === 'ok' && maxOpen > 0 && entry.open >= maxOpen) verdict = 'too-many';
    if (verdict === 'ok') {
      if (rate > 0) entry.tokens -= 1;
      entry.open++;
      return 'ok';
    }
    if (entry.refusing >= MAX_PENDING_REFUSALS) return 'drop';
    entry.refusing++;
    return verdict;
  }

  /** An admitted connection closed. */
  connectionClosed(address: string): void {
    const entry = this.#entries.get(address);
    if (entry === undefined) return;
    entry.open--;
    this.#forgetIfIdle(address, entry, Date.now());
  }

  /** A refused connection closed. */
  refusalDone(address: string): void {
    const entry = this.#entries.get(address);
    if (entry === undefined) return;
    entry.refusing--;
    this.#forgetIfIdle(address, entry, Date.now());
  }

  #forgetIfIdle(address: string, entry: Entry, now: number): void {
    if (entry.open > 0 || entry.refusing > 0) return;
    const rate = this.#limits.maxConnectionRatePerAddress;
    if (rate === 0 || entry.tokens + ((now - entry.refilledAt) / 1000) * rate >= rate) this.#entries.delete(address);
  }

  #prune(now: number): void {
    this.#prunedAt = now;
    for (const [address, entry] of this.#entries) this.#forgetIfIdle(address, entry, now);
  }
}
