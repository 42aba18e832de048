import { describe, expect, it } from 'vitest';
import { RecordFormatError } from '../../../src/storage/binary-io.js';
import { aesGcmCipher, plainCipher, SealedValueError } from '../../../src/storage/value-cipher.js';
import { KeyLayout, prefixEnd } from '../../../src/storage/level/keys.js';
import { decodeQueueEntry, decodeRetained, encodeQueueEntry, encodeRetained } from '../../../src/storage/record-codec.js';

describe('keys', () => {
  const keys = new KeyLayout(plainCipher().id);

  it('queue keys sort by seq, beyond 2^32 too', () => {
    const seqs = [2 ** 40, 1, 2 ** 32, 255, 256, 2 ** 32 - 1, Number.MAX_SAFE_INTEGER];
    const sorted = seqs.map((seq) => ({ seq, key: keys.queueEntry('c', seq) })).sort((a, b) => Buffer.compare(a.key, b.key));
    expect(sorted.map((x) => x.seq)).toEqual([...seqs].sort((a, b) => a - b));
  });

  it("one client's queue range never holds another client's keys", () => {
    const range = keys.queueRange('a');
    for (const other of ['a/b', 'ab', 'a\u0000', '']) {
      const key = keys.queueEntry(other, 1);
      expect(Buffer.compare(key, range.gte) >= 0 && Buffer.compare(key, range.lt) < 0).toBe(false);
    }
    expect(() => keys.queueEntry('a', -1)).toThrow(RangeError);
    expect(() => keys.queueEntry('a', 1.5)).toThrow(RangeError);
  });

  it('prefixEnd skips trailing 0xff bytes', () => {
    expect(prefixEnd(Buffer.from([1, 0xff, 0xff]))).toEqual(Buffer.from([2]));
  });
});

describe('record codec', () => {
  const entry = { seq: 7, message: { topic: 't', payload: Buffer.from('p'), qos: 1 as const, retain: false }, qos: 1 as const, retain: false };

  it('rejects truncated records, trailing bytes, another kind, an unknown version', () => {
    const bytes = encodeQueueEntry(entry);
    expect(decodeQueueEntry(bytes)).toEqual(entry);
    expect(() => decodeQueueEntry(bytes.subarray(0, bytes.length - 1))).toThrow(RecordFormatError);
    expect(() => decodeQueueEntry(Buffer.concat([bytes, Buffer.from([0])]))).toThrow(RecordFormatError);
    expect(() => decodeRetained(bytes)).toThrow(/record kind/);
    expect(() => decodeRetained(Buffer.from([9, ...encodeRetained(entry.message).subarray(1)]))).toThrow(/version 9/);
  });
});

describe('record bytes (stores written by earlier versions must still read)', () => {
  const message = {
    topic: 'plant/ü/1',
    payload: Buffer.from('hello'),
    qos: 2 as const,
    retain: true,
    expiresAt: 1760000000123,
    expirySet: true,
    senderId: 'pub-ß',
    properties: { payloadFormatIndicator: true, contentType: 'text/plain', responseTopic: 'r/1', correlationData: Buffer.from([1, 2, 3]), userProperties: [['a', 'b'], ['a', 'ç']] as [string, string][] },
  };
  const entry = { seq: 2 ** 40 + 5, message, qos: 1 as const, retain: true, subscriptionIds: [3, 268435455], packetId: 65535, released: false };
  // Written by the BinaryWriter codec of store formats 1 and 2 (before the exact-size encoders): the same bytes, byte for byte.
  const ENTRY_HEX =
    '01024270000000005000010f0fff020000000a706c616e742fc3bc2f310000000568656c6c6f42799c82cc07b000000000067075622dc39f0000000a746578742f706c61696e00000003722f31000000030102030000000200000001610000000162000000016100000002c3a700000002400800000000000041affffffe000000ffff';
  const RETAINED_HEX =
    '01030fff020000000a706c616e742fc3bc2f310000000568656c6c6f42799c82cc07b000000000067075622dc39f0000000a746578742f706c61696e00000003722f31000000030102030000000200000001610000000162000000016100000002c3a7';

  it('a queue entry and a retained message encode to the bytes earlier versions wrote, and decode back', () => {
    const entryBytes = encodeQueueEntry(entry);
    expect(entryBytes.toString('hex')).toBe(ENTRY_HEX);
    expect(encodeRetained(message).toString('hex')).toBe(RETAINED_HEX);
    expect(decodeQueueEntry(entryBytes)).toEqual(entry);
    expect(decodeRetained(encodeRetained(message))).toEqual(message);
  });
});

describe('AES-256-GCM values', () => {
  const key = Buffer.alloc(32, 7);
  const cipher = aesGcmCipher(key, Buffer.from('salt'));
  const aad = Buffer.from('q/x');

  it('uses a fresh nonce per value and authenticates value and key', () => {
    const a = cipher.seal(aad, Buffer.from('same'));
    const b = cipher.seal(aad, Buffer.from('same'));
    expect(a.equals(b)).toBe(false);
    expect(a[0]).toBe(0x01);
    expect(cipher.open(aad, a).toString()).toBe('same');
    expect(() => cipher.open(Buffer.from('q/y'), a)).toThrow(SealedValueError);
    expect(() => aesGcmCipher(Buffer.alloc(32, 8), Buffer.from('salt')).open(aad, a)).toThrow(SealedValueError);
    expect(() => cipher.open(aad, a.subarray(0, 10))).toThrow(SealedValueError);
    expect(() => plainCipher().open(aad, a)).toThrow(SealedValueError);
  });

  it('hashes ids with a key: same id, same bytes; no plain text', () => {
    expect(cipher.id('client-1').equals(cipher.id('client-1'))).toBe(true);
    expect(cipher.id('client-1').includes(Buffer.from('client'))).toBe(false);
    expect(cipher.id('client-1').equals(aesGcmCipher(key, Buffer.from('other salt')).id('client-1'))).toBe(false);
  });
});
