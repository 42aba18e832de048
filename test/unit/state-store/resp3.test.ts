import { describe, expect, it } from 'vitest';
import {
  encodeArray,
  encodeBulk,
  encodeError,
  encodeNotifySet,
  NOTIFY_DELETE,
  parseRequest,
  REPLY_NIL,
  REPLY_NOT_APPLIED,
  REPLY_OK,
  REPLY_ONE,
  REPLY_ZERO,
} from '../../../src/services/state-store/resp3-server.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const elements = (s: string): string[] | undefined => {
  const r = parseRequest(b(s));
  return r.ok ? r.elements.map((e) => e.toString('latin1')) : undefined;
};

describe('RESP3 requests', () => {
  it('parses R1 byte for byte (38 bytes)', () => {
    const r1 = Buffer.from('2a330d0a24330d0a5345540d0a24370d0a5345544b4559320d0a24360d0a56414c5545350d0a', 'hex');
    expect(r1.length).toBe(38);
    expect(elements(r1.toString('latin1'))).toEqual(['SET', 'SETKEY2', 'VALUE5']);
  });

  it.each([
    ['*2\r\n$3\r\nGET\r\n$7\r\nSETKEY2\r\n', ['GET', 'SETKEY2']],
    ['*3\r\n$4\r\nVDEL\r\n$7\r\nSETKEY2\r\n$3\r\nABC\r\n', ['VDEL', 'SETKEY2', 'ABC']],
    ['*5\r\n$3\r\nSET\r\n$7\r\ntestkey\r\n$9\r\ntestvalue\r\n$2\r\nPX\r\n$2\r\n10\r\n', ['SET', 'testkey', 'testvalue', 'PX', '10']],
    ['*3\r\n$3\r\nSET\r\n$0\r\n\r\n$0\r\n\r\n', ['SET', '', '']],
    ['*6\r\n$3\r\nSET\r\n$8\r\nLockName\r\n$7\r\nClient1\r\n$3\r\nNEX\r\n$2\r\nPX\r\n$5\r\n10000\r\n', ['SET', 'LockName', 'Client1', 'NEX', 'PX', '10000']],
    ['*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n', ['SET', 'k', 'a\r\nb']],
  ])('parses %j', (payload, expected) => {
    expect(elements(payload)).toEqual(expected);
  });

  it.each([
    '',
    '*0\r\n',
    '*1\r\n',
    '+OK\r\n',
    '*2\r\n$3\r\nGET\r\n$5\r\nab\r\n',
    '*1\r\n$3\r\nGET\r\ntrailing',
    '*1\r\n$-1\r\n',
    '*1\r\n:1\r\n',
    '*-1\r\n',
    '*+1\r\n$3\r\nGET\r\n',
    '*1\r\n$03\r\nGET\r\n',
    '*1\n$3\nGET\n',
    '*99999999999999999999\r\n',
    '*1\r\n$99999999999999999999\r\nx\r\n',
    '*2\r\n$3\r\nGET\r\n',
  ])('rejects malformed %j', (payload) => {
    expect(parseRequest(b(payload)).ok).toBe(false);
  });

  it('never throws on random bytes', () => {
    let seed = 7;
    for (let n = 0; n < 2000; n++) {
      const buf = Buffer.alloc((n % 40) + 1);
      for (let i = 0; i < buf.length; i++) buf[i] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 3 === 0 ? 0x0d : seed & 0xff;
      buf[0] = 0x2a;
      expect(() => parseRequest(buf)).not.toThrow();
    }
  });
});

describe('RESP3 replies', () => {
  it('encodes every reply form of state-store-protocol.md §2.3/§7.2', () => {
    expect(REPLY_OK.toString()).toBe('+OK\r\n');
    expect(REPLY_NOT_APPLIED.toString()).toBe(':-1\r\n');
    expect(REPLY_ZERO.toString()).toBe(':0\r\n');
    expect(REPLY_ONE.toString()).toBe(':1\r\n');
    expect(REPLY_NIL.toString()).toBe('$-1\r\n');
    expect(encodeBulk(b('1234')).toString()).toBe('$4\r\n1234\r\n');
    expect(encodeBulk(b('')).toString()).toBe('$0\r\n\r\n');
    expect(encodeBulk(b('hello world')).toString()).toBe('$11\r\nhello world\r\n');
    expect(encodeError('syntax error').toString()).toBe('-ERR syntax error\r\n');
    expect(encodeError('').toString()).toBe('-ERR \r\n');
  });

  it('encodes notifications N1/N2/N3', () => {
    const n1 = encodeNotifySet(b('abc'));
    expect(n1.toString()).toBe('*4\r\n$6\r\nNOTIFY\r\n$3\r\nSET\r\n$5\r\nVALUE\r\n$3\r\nabc\r\n');
    expect(n1.length).toBe(45);
    expect(NOTIFY_DELETE.toString()).toBe('*2\r\n$6\r\nNOTIFY\r\n$6\r\nDELETE\r\n');
    expect(NOTIFY_DELETE.length).toBe(28);
    expect(encodeNotifySet(b('value')).toString()).toBe('*4\r\n$6\r\nNOTIFY\r\n$3\r\nSET\r\n$5\r\nVALUE\r\n$5\r\nvalue\r\n');
    expect(encodeArray(['GET', 'SETKEY2']).toString()).toBe('*2\r\n$3\r\nGET\r\n$7\r\nSETKEY2\r\n');
  });
});
