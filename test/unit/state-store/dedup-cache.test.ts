import { describe, expect, it } from 'vitest';
import { DedupCache, type CachedResponse } from '../../../src/services/state-store/dedup-cache.js';

const response = (text: string): CachedResponse => ({ payload: Buffer.from(text), userProperties: [['__stat', '200']] });

describe('DedupCache', () => {
  it('keys by client id and correlation data bytes (binary-safe, no collisions between clients)', () => {
    const cache = new DedupCache(10, 60_000, () => 0);
    const cd = Buffer.from([0x00, 0xff, 0x80, 0x41]);
    cache.set(DedupCache.keyOf('a', cd), response('a'));
    expect(cache.get(DedupCache.keyOf('a', Buffer.from([0x00, 0xff, 0x80, 0x41])))?.payload.toString()).toBe('a');
    expect(cache.get(DedupCache.keyOf('b', cd))).toBeUndefined();
    expect(cache.get(DedupCache.keyOf('a', Buffer.from([0x00, 0xff, 0x80, 0x42])))).toBeUndefined();
    expect(DedupCache.keyOf('a\u0000', Buffer.from('x'))).not.toBe(DedupCache.keyOf('a', Buffer.from('\u0000x')));
  });

  it('forgets a response after its time to live', () => {
    let now = 1000;
    const cache = new DedupCache(10, 500, () => now);
    cache.set('k', response('v'));
    cache.set('short', response('s'), 100);
    now = 1099;
    expect(cache.get('short')?.payload.toString()).toBe('s');
    now = 1100;
    expect(cache.get('short')).toBeUndefined();
    expect(cache.get('k')?.payload.toString()).toBe('v');
    now = 1500;
    expect(cache.get('k')).toBeUndefined();
  });

  it('stays within its capacity and always keeps the most recent half', () => {
    const cache = new DedupCache(100, 60_000, () => 0);
    for (let i = 0; i < 10_000; i++) {
      cache.set(`k${i}`, response(String(i)));
      expect(cache.size).toBeLessThanOrEqual(100);
    }
    for (let i = 10_000 - 50; i < 10_000; i++) expect(cache.get(`k${i}`)?.payload.toString()).toBe(String(i));
    expect(cache.get('k0')).toBeUndefined();
  });

  it('replaces the response of a key set again, wherever it was', () => {
    const cache = new DedupCache(4, 60_000, () => 0);
    cache.set('x', response('old'));
    cache.set('a', response('a'));
    cache.set('b', response('b')); // x and a move to the old generation
    cache.set('x', response('new'));
    expect(cache.get('x')?.payload.toString()).toBe('new');
    expect(cache.size).toBe(3);
  });

  it('remembers nothing with capacity 0; clear empties it', () => {
    const none = new DedupCache(0, 60_000);
    none.set('k', response('v'));
    expect(none.get('k')).toBeUndefined();
    const cache = new DedupCache(10, 60_000);
    cache.set('k', response('v'));
    cache.clear();
    expect([cache.get('k'), cache.size]).toEqual([undefined, 0]);
  });
});
