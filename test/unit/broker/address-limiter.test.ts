import { describe, expect, it } from 'vitest';
import { AddressLimiter, MAX_PENDING_REFUSALS, normalizeAddress } from '../../../src/broker/address-limiter.js';
import { MEMORY_PROFILES, resolveConnectionLimits } from '../../../src/broker/broker-options.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../../src/config/connection-limits.js';

describe('AddressLimiter', () => {
  it('counts open connections per address and frees a slot on release', () => {
    const limiter = new AddressLimiter(resolveConnectionLimits({ maxConnectionsPerAddress: 2 }));
    expect(limiter.admit('10.0.0.1', 0)).toBe('ok');
    expect(limiter.admit('10.0.0.1', 0)).toBe('ok');
    expect(limiter.admit('10.0.0.1', 0)).toBe('too-many');
    expect(limiter.admit('10.0.0.2', 0)).toBe('ok'); // another address is not affected
    limiter.connectionClosed('10.0.0.1');
    expect(limiter.admit('10.0.0.1', 0)).toBe('ok');
  });

  it('refills the rate bucket over time', () => {
    const limiter = new AddressLimiter(resolveConnectionLimits({ maxConnectionRatePerAddress: 2 }));
    expect(limiter.admit('a', 1000)).toBe('ok');
    expect(limiter.admit('a', 1000)).toBe('ok');
    expect(limiter.admit('a', 1000)).toBe('too-fast');
    expect(limiter.admit('a', 1400)).toBe('too-fast'); // 0.8 of a token
    expect(limiter.admit('a', 1500)).toBe('ok'); // one token after half a second at 2/s
  });

  it('drops unread beyond the pending refusals of one address, and forgets idle addresses', () => {
    const limiter = new AddressLimiter(resolveConnectionLimits({ maxConnectionsPerAddress: 1 }));
    expect(limiter.admit('a', 0)).toBe('ok');
    for (let i = 0; i < MAX_PENDING_REFUSALS; i++) expect(limiter.admit('a', 0)).toBe('too-many');
    expect(limiter.admit('a', 0)).toBe('drop');
    for (let i = 0; i < MAX_PENDING_REFUSALS; i++) limiter.refusalDone('a');
    limiter.connectionClosed('a');
    expect(limiter.size).toBe(0);
  });

  it('unlimited by default, and the CONNECT limit defaults to 64 KiB capped by the packet size', () => {
    const limiter = new AddressLimiter(resolveConnectionLimits());
    for (let i = 0; i < 10_000; i++) expect(limiter.admit('127.0.0.1', 0)).toBe('ok');
    expect(resolveConnectionLimits().maxConnectPacketBytes).toBe(65_536);
    expect(resolveConnectionLimits({ maxConnectPacketBytes: 1_000_000 }, 4096).maxConnectPacketBytes).toBe(4096);
  });

  it('treats IPv4-mapped IPv6 addresses as IPv4', () => {
    expect(normalizeAddress('::ffff:192.168.1.5')).toBe('192.168.1.5');
    expect(normalizeAddress('::1')).toBe('::1');
  });
});

describe('resource limit defaults', () => {
  it('the engine and `ops broker limits show` agree on the defaults; the partial-packet bound follows the memory profile', () => {
    const engine = resolveConnectionLimits();
    // every default `limits show` prints without the memory profile is the engine's
    const shown = Object.fromEntries(Object.keys(DEFAULT_CONNECTION_LIMITS).map((key) => [key, engine[key as keyof typeof engine]]));
    expect(shown).toEqual(DEFAULT_CONNECTION_LIMITS);
    const bound = (profile: keyof typeof MEMORY_PROFILES): number =>
      resolveConnectionLimits({}, MEMORY_PROFILES[profile].maxPacketSizeBytes, MEMORY_PROFILES[profile].queuedBytesBudget).maxPartialPacketBytes;
    expect([bound('Tiny'), bound('Low'), bound('Medium'), bound('High')]).toEqual([4, 16, 108, 384].map((mib) => mib * 1024 * 1024));
    expect(resolveConnectionLimits({ maxTopicLevels: 0, maxPartialPacketBytes: 1 << 20 })).toMatchObject({ maxTopicLevels: 100, maxPartialPacketBytes: 1 << 20 });
  });
});
