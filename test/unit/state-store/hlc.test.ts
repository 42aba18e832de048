import { describe, expect, it } from 'vitest';
import { compareHlc, formatHlc, parseHlc } from '../../../src/shared/hlc-text.js';
import { HybridClock, isTooFarAhead } from '../../../src/services/state-store/server-clock.js';
import { notificationTopic } from '../../../src/shared/state-store-wire.js';

describe('HLC format', () => {
  it('parses padded and unpadded forms alike and formats padded', () => {
    const a = parseHlc('001696374425000:00001:StateStore');
    const b = parseHlc('1696374425000:1:StateStore');
    expect(a).toEqual({ wall: 1696374425000, counter: 1, node: 'StateStore' });
    expect(b).toEqual(a);
    expect(formatHlc(b!)).toBe('001696374425000:00001:StateStore');
  });

  it.each(['abc', '1:2', '1:2:', '1:2:n:x', 'a:1:n', '1:-2:n', '1.5:2:n', ':1:n', '99999999999999999999:0:n'])('rejects %j', (text) => {
    expect(parseHlc(text)).toBeUndefined();
  });

  it('orders by wall clock, counter, then node id (ordinal)', () => {
    const p = (s: string) => parseHlc(s)!;
    expect(compareHlc(p('2:0:a'), p('1:9:z'))).toBeGreaterThan(0);
    expect(compareHlc(p('1:1:a'), p('1:2:a'))).toBeLessThan(0);
    expect(compareHlc(p('1:1:B'), p('1:1:a'))).toBeLessThan(0);
    expect(compareHlc(p('001:01:a'), p('1:1:a'))).toBe(0);
  });

  it('rejects more than 60 s ahead only', () => {
    expect(isTooFarAhead({ wall: 160_001, counter: 0, node: 'n' }, 100_000)).toBe(true);
    expect(isTooFarAhead({ wall: 160_000, counter: 0, node: 'n' }, 100_000)).toBe(false);
    expect(isTooFarAhead({ wall: 0, counter: 0, node: 'n' }, 100_000)).toBe(false);
  });

  it('builds notification topics in upper-case hex (N4, N5)', () => {
    expect(notificationTopic('client-id1', Buffer.from('SOMEKEY'))).toBe(
      'clients/statestore/v1/FA9AE35F-2F64-47CD-9BFF-08E2B32A0FE8/636C69656E742D696431/command/notify/534F4D454B4559',
    );
    expect(notificationTopic('statestore-cli-0.1.0', Buffer.from([0x6b, 0x00, 0xff]))).toBe(
      'clients/statestore/v1/FA9AE35F-2F64-47CD-9BFF-08E2B32A0FE8/737461746573746F72652D636C692D302E312E30/command/notify/6B00FF',
    );
  });
});

describe('HybridClock', () => {
  it('reproduces the docs example (B22): frozen clock, request 1696374425000:0:Client1', () => {
    const clock = new HybridClock('StateStore', () => 1696374425000);
    const v = clock.next(parseHlc('1696374425000:0:Client1'));
    expect(formatHlc(v)).toBe('001696374425000:00001:StateStore');
  });

  it('takes the wall clock when it is ahead, counter 0, same node id (lease renewals)', () => {
    let now = 1000;
    const clock = new HybridClock('n', () => now);
    expect(clock.next()).toEqual({ wall: 1000, counter: 0, node: 'n' });
    expect(clock.next()).toEqual({ wall: 1000, counter: 1, node: 'n' });
    now = 2000;
    expect(clock.next(parseHlc('1500:7:c'))).toEqual({ wall: 2000, counter: 0, node: 'n' });
  });

  it('follows a request that is ahead (within the skew) and is always greater than it', () => {
    const clock = new HybridClock('n', () => 1000);
    const r = parseHlc('5000:3:c')!;
    const v = clock.next(r);
    expect(v).toEqual({ wall: 5000, counter: 4, node: 'n' });
    expect(compareHlc(v, r)).toBeGreaterThan(0);
    expect(clock.next(parseHlc('5000:9:c'))).toEqual({ wall: 5000, counter: 10, node: 'n' });
    expect(clock.next(parseHlc('10:0:c'))).toEqual({ wall: 5000, counter: 11, node: 'n' });
  });

  it('refuses node ids with a colon', () => {
    expect(() => new HybridClock('a:b')).toThrow(RangeError);
  });
});

describe('HybridClock.observe (restored versions)', () => {
  it('moves the clock up to a restored version so the next version is above it', () => {
    const clock = new HybridClock('n', () => 1000);
    const restored = { wall: 5000, counter: 3, node: 'old' };
    clock.observe(restored);
    clock.observe({ wall: 10, counter: 0, node: 'older' });
    expect(compareHlc(clock.next(), restored)).toBeGreaterThan(0);
    expect(clock.current).toEqual({ wall: 5000, counter: 4, node: 'n' });
  });
});
