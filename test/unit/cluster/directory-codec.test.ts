import { describe, expect, it } from 'vitest';
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import {
  decodeChange,
  decodeEntry,
  decodeField,
  decodeOptions,
  directoryHashKey,
  encodeChange,
  encodeEntry,
  encodeField,
  encodeOptions,
  type DirectoryChange,
  type DirectorySealer,
} from '../../../src/cluster/directory-codec.js';
import { compareStreamIds, isStreamId, readStreamInfo } from '../../../src/cluster/stream-ids.js';
import { RedisErrorReply } from '../../../src/storage/redis/cluster-commands.js';

/** A change's XADD arguments as the stream entry Redis would hand back. */
function entryOf(change: DirectoryChange, sealer?: DirectorySealer): { id: string; fields: Map<string, Buffer> } {
  const words = encodeChange(change, sealer);
  const fields = new Map<string, Buffer>();
  for (let i = 0; i < words.length; i += 2) fields.set(String(words[i]), Buffer.from(words[i + 1] ?? ''));
  return { id: '1-0', fields };
}

describe('directory codec', () => {
  it('round-trips every change, hostile strings included', () => {
    const clientId = '{a}\u0000\ud800';
    const options = { qos: 2 as const, noLocal: true, retainAsPublished: false, subscriptionId: 268_435_455 };
    const changes: DirectoryChange[] = [
      { op: 'put', owner: 'AbC_-0123456789x', clientId, filter: '$share/g/#', options },
      { op: 'del', owner: 'AbC_-0123456789x', clientId, filter: 'a/+' },
      { op: 'delc', owner: 'AbC_-0123456789x', clientId },
      { op: 'delf', owner: 'AbC_-0123456789x' },
    ];
    for (const change of changes) expect(decodeChange(entryOf(change))).toEqual(change);
    expect(decodeField(encodeField(clientId, 'x'))).toEqual({ clientId, filter: 'x' });
    expect(decodeOptions(encodeOptions({ qos: 0, noLocal: false, retainAsPublished: true }))).toEqual({ qos: 0, noLocal: false, retainAsPublished: true, subscriptionId: undefined });
  });

  it('reports malformed bytes as reasons, never throws', () => {
    const bad = (text: string): string | object => decodeOptions(Buffer.from(text));
    expect(bad('nope')).toBe('the options value is not JSON');
    expect(bad('[]')).toBe('the options are not an object');
    expect(bad('{"q":1,"nl":false,"rap":false,"sid":0}')).toBe('the subscription id is out of range');
    expect(bad('{"q":1,"nl":1,"rap":false}')).toBe('noLocal or retainAsPublished is not a boolean');
    expect(decodeField(Buffer.from('["a"]'))).toBe('the field is not [clientId, filter]');
    expect(decodeField(Buffer.from('["a",""]'))).toBe('the filter is empty');
    expect(decodeField(Buffer.alloc(2 * 1024 * 1024, 0x20))).toMatch(/longer than/);
    expect(decodeChange({ id: '1-0', fields: new Map([['op', Buffer.from('delc')], ['o', Buffer.from('x')], ['c', Buffer.from('1')]]) })).toBe('the client id is not a string');
    expect(decodeChange({ id: '1-0', fields: new Map([['op', Buffer.from('put')], ['o', Buffer.from('x')]]) })).toBe('no field');
    expect(decodeChange({ id: '1-0', fields: new Map() })).toBe('no valid owner');
  });

  it('puts only base64url frontend ids into key names', () => {
    expect(directoryHashKey('AbC_-0123456789x')).toBe('sd:{f:AbC_-0123456789x}');
    for (const id of ['', 'a}b', 'a{', 'a:b', 'x'.repeat(65)]) expect(() => directoryHashKey(id)).toThrow(RangeError);
  });
});

describe('stream ids and XINFO', () => {
  it('compares ids numerically and rejects malformed ones', () => {
    expect(compareStreamIds('10-0', '9-5')).toBe(1);
    expect(compareStreamIds('9-10', '9-9')).toBe(1);
    expect(compareStreamIds('18446744073709551615-0', '18446744073709551614-99')).toBe(1);
    expect(compareStreamIds('1-1', '1-1')).toBe(0);
    for (const id of ['1', '1-', '-1', '1-2-3', 'a-1', '18446744073709551616-0', ' 1-1']) expect(isStreamId(id)).toBe(false);
    expect(isStreamId('0-0')).toBe(true);
  });

  it('reads XINFO STREAM defensively', () => {
    const reply = (extra: Record<string, Buffer | number | null>): (Buffer | number | null)[] =>
      Object.entries({ length: 2, 'last-generated-id': Buffer.from('5-0'), 'entries-added': 3, 'recorded-first-entry-id': Buffer.from('4-0'), ...extra }).flatMap(([k, v]) => [Buffer.from(k), v]);
    expect(readStreamInfo(reply({}))).toEqual({ length: 2, lastGeneratedId: '5-0', entriesAdded: 3, firstEntryId: '4-0' });
    expect(readStreamInfo(reply({ length: 0 }))).toMatchObject({ firstEntryId: undefined });
    expect(readStreamInfo(new RedisErrorReply('ERR no such key'))).toBeUndefined();
    expect(readStreamInfo(new RedisErrorReply('WRONGTYPE x'))).toMatch(/error reply/);
    expect(readStreamInfo(reply({ 'entries-added': 1 }))).toMatch(/entries-added/);
    expect(readStreamInfo(reply({ 'last-generated-id': Buffer.from('x') }))).toMatch(/last-generated-id/);
    expect(readStreamInfo(reply({ 'recorded-first-entry-id': null }))).toMatch(/first entry/);
    expect(readStreamInfo([Buffer.from('length')])).toMatch(/field\/value/);
  });
});

/** AES-256-GCM bound to the key name, as the store seals (iv | tag | ciphertext). */
function testSealer(secret = randomBytes(32)): DirectorySealer {
  return {
    seal: (key, plain) => {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', secret, iv).setAAD(Buffer.from(key));
      const body = Buffer.concat([cipher.update(plain), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]);
    },
    open: (key, sealed) => {
      const decipher = createDecipheriv('aes-256-gcm', secret, sealed.subarray(0, 12)).setAAD(Buffer.from(key));
      decipher.setAuthTag(sealed.subarray(12, 28));
      return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]);
    },
    fieldId: (text) => createHmac('sha256', secret).update(text).digest(),
  };
}

describe('sealed directory codec', () => {
  it('round-trips every change sealed, with no client id or filter in the bytes; another key or a tampered value is a reason', () => {
    const sealer = testSealer();
    const clientId = 'secret-client-{x}';
    const options = { qos: 1 as const, noLocal: false, retainAsPublished: true, subscriptionId: 7 };
    const changes: DirectoryChange[] = [
      { op: 'put', owner: 'AbC_-0123456789x', clientId, filter: 'secret/filter/#', options },
      { op: 'del', owner: 'AbC_-0123456789x', clientId, filter: 'secret/filter/#' },
      { op: 'delc', owner: 'AbC_-0123456789x', clientId },
      { op: 'delf', owner: 'AbC_-0123456789x' },
    ];
    for (const change of changes) {
      const entry = entryOf(change, sealer);
      for (const value of entry.fields.values()) expect(value.includes(Buffer.from('secret'))).toBe(false);
      expect(decodeChange(entry, sealer)).toEqual(change);
    }
    expect(decodeChange(entryOf(changes[0]!, sealer), testSealer())).toBe("the value of 'f' is not authentic");
    const tampered = entryOf(changes[2]!, sealer);
    const c = tampered.fields.get('c')!;
    c[c.length - 1] = (c[c.length - 1] ?? 0) ^ 1;
    expect(decodeChange(tampered, sealer)).toBe("the value of 'c' is not authentic");
  });

  it('an entry value round-trips; a malformed one is a reason', () => {
    const options = { qos: 2 as const, noLocal: true, retainAsPublished: false, subscriptionId: undefined };
    expect(decodeEntry(encodeEntry('{a}\u0000\ud800', '$share/g/#', options))).toEqual({ clientId: '{a}\u0000\ud800', filter: '$share/g/#', options });
    expect(decodeEntry(Buffer.from('[["c","f"]]'))).toBe('the entry is not [field, options]');
    expect(decodeEntry(Buffer.from('[["c",""],{"q":0,"nl":false,"rap":false}]'))).toBe('the filter is empty');
    expect(decodeEntry(Buffer.from('[["c","f"],{"q":3,"nl":false,"rap":false}]'))).toBe('the QoS is not 0, 1 or 2');
    expect(typeof decodeEntry(Buffer.from('not json'))).toBe('string');
  });
});
