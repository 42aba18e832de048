import { describe, expect, it } from 'vitest';
import { AuthBackoff, isCredentialFailure, MAX_BLOCK_MULTIPLIER, MAX_TRACKED_ADDRESSES } from '../../../src/broker/auth-backoff.js';
import { resolveConnectionLimits } from '../../../src/broker/broker-options.js';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';

const limits = (max: number, windowSeconds = 60, blockSeconds = 60) =>
  resolveConnectionLimits({ maxAuthFailuresPerAddress: max, authFailureWindowSeconds: windowSeconds, authBlockSeconds: blockSeconds });

describe('AuthBackoff (clock injected)', () => {
  it('is on by default: 10 failures in 60 s block the address for 60 s', () => {
    const backoff = new AuthBackoff(resolveConnectionLimits(), 0);
    for (let i = 0; i < 9; i++) expect(backoff.failed('a', 1000 + i)).toBe(0);
    expect(backoff.blockedFor('a', 1010)).toBe(0);
    expect(backoff.failed('a', 1010)).toBe(60_000);
    expect(backoff.blockedFor('a', 1010)).toBe(60_000);
    expect(backoff.blockedFor('a', 61_009)).toBe(1);
    expect(backoff.blockedFor('a', 61_010)).toBe(0);
  });

  it('blocks one address only: another address is never affected', () => {
    const backoff = new AuthBackoff(limits(3), 0);
    for (let i = 0; i < 3; i++) backoff.failed('10.0.0.1', 0);
    expect(backoff.blockedFor('10.0.0.1', 1)).toBeGreaterThan(0);
    expect(backoff.blockedFor('10.0.0.2', 1)).toBe(0);
    expect(backoff.failed('10.0.0.2', 1)).toBe(0);
  });

  it('counts failures within the window only', () => {
    const backoff = new AuthBackoff(limits(3, 10), 0);
    backoff.failed('a', 0);
    backoff.failed('a', 5_000);
    expect(backoff.failed('a', 10_000)).toBe(0); // the window of the first failure is over: a new one starts
    expect(backoff.failed('a', 11_000)).toBe(0);
    expect(backoff.failed('a', 12_000)).toBe(60_000); // the third in the new window: a 60 s block
  });

  it('doubles a repeat block, up to the cap, and forgets a quiet address', () => {
    const backoff = new AuthBackoff(limits(1, 1, 1), 0);
    let now = 0;
    const blocks: number[] = [];
    for (let i = 0; i < 9; i++) {
      const ms = backoff.failed('a', now);
      blocks.push(ms);
      now += ms; // the next failure right after the block
    }
    expect(blocks).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 64_000, 64_000]);
    expect(MAX_BLOCK_MULTIPLIER).toBe(64);
    now += 64_000 + 10_000; // as long as the last block, past its end, and the prune interval
    expect(backoff.blockedFor('b', now)).toBe(0); // prunes
    expect(backoff.size).toBe(0);
    expect(backoff.failed('a', now)).toBe(1000); // a first block again
  });

  it('is off with 0', () => {
    const backoff = new AuthBackoff(limits(0), 0);
    for (let i = 0; i < 100; i++) expect(backoff.failed('a', i)).toBe(0);
    expect(backoff.blockedFor('a', 100)).toBe(0);
    expect(backoff.size).toBe(0);
  });

  it('remembers a bounded number of addresses (the least recently failed is forgotten first)', () => {
    const backoff = new AuthBackoff(limits(2), 0);
    backoff.failed('first', 0);
    backoff.failed('first', 0); // blocked
    for (let i = 0; i < MAX_TRACKED_ADDRESSES; i++) backoff.failed(`addr-${i}`, 1);
    expect(backoff.size).toBe(MAX_TRACKED_ADDRESSES);
    expect(backoff.blockedFor('first', 2)).toBe(0); // evicted
  });

  it('counts refusals of credentials, not the broker being busy or unavailable', () => {
    expect([0x86, 0x87, 0x8a, 0x8c].every(isCredentialFailure)).toBe(true);
    expect([ReasonCode.ServerBusy, ReasonCode.ServerUnavailable, ReasonCode.UnspecifiedError, ReasonCode.QuotaExceeded].some(isCredentialFailure)).toBe(false);
  });
});
