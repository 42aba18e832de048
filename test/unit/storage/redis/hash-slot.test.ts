import { describe, expect, it } from 'vitest';
import { crc16, hashSlot } from '../../../../src/storage/redis/hash-slot.js';

describe('hash slots (as redis-cli CLUSTER KEYSLOT computes them)', () => {
  it('CRC16/XMODEM of the check string "123456789" is 0x31C3', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0x31c3);
  });

  it.each([
    ['foo', 12182],
    ['bar', 5061],
    ['hello', 866],
    ['a', 15495],
    ['ünïcødé', 1067],
    ['{user1000}.following', 3443],
    ['{user1000}.followers', 3443],
    ['foo{}{bar}', 8363], // an empty tag hashes the whole key
    ['foo{{bar}}zap', 4015], // the tag is "{bar"
    ['foo{bar}{zap}', 5061], // only the first tag counts: slot of "bar"
    ['{}', 15257],
    ['s:{c:client-1}', 263],
    ['q:{c:client-1}', 263],
  ])('%s -> slot %i', (key, slot) => {
    expect(hashSlot(key)).toBe(slot);
    expect(hashSlot(Buffer.from(key, 'utf8'))).toBe(slot);
  });
});
