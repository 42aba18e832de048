import { describe, expect, it } from 'vitest';
import { ClientClock, hlcTime } from '../../../src/cli/lib/state-store/client-clock.js';
import { compareHlc, formatHlc, parseHlc } from '../../../src/shared/hlc-text.js';
import { encodeRequest, parseNotification, parseReply } from '../../../src/cli/lib/state-store/resp3-client.js';
import { connectionErrorReason } from '../../../src/cli/lib/state-store/state-store-client.js';
import { hexUpper } from '../../../src/shared/state-store-wire.js';
import { defaultListenerPort, jsonValue } from '../../../src/cli/lib/state-store/endpoint.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('CLI RESP3 requests (state-store-protocol.md §7.1)', () => {
  it.each([
    [['SET', 'SETKEY2', 'VALUE5'], '*3\r\n$3\r\nSET\r\n$7\r\nSETKEY2\r\n$6\r\nVALUE5\r\n'],
    [['GET', 'SETKEY2'], '*2\r\n$3\r\nGET\r\n$7\r\nSETKEY2\r\n'],
    [['DEL', 'SETKEY2'], '*2\r\n$3\r\nDEL\r\n$7\r\nSETKEY2\r\n'],
    [['SET', 'key', 'value', 'NX', 'PX', '1000'], '*6\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n$2\r\nNX\r\n$2\r\nPX\r\n$4\r\n1000\r\n'],
    [['SET', 'key', ''], '*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$0\r\n\r\n'],
    [['KEYNOTIFY', 'SOMEKEY'], '*2\r\n$9\r\nKEYNOTIFY\r\n$7\r\nSOMEKEY\r\n'],
  ])('encodes %j', (elements, expected) => {
    expect(encodeRequest(elements).toString('latin1')).toBe(expected);
  });

  it('encodes binary values and counts UTF-8 bytes', () => {
    expect(encodeRequest(['SET', 'é', Buffer.from([0, 0xff, 0x0d, 0x0a])])).toEqual(
      Buffer.concat([b('*3\r\n$3\r\nSET\r\n$2\r\n'), Buffer.from('é'), b('\r\n$4\r\n'), Buffer.from([0, 0xff, 0x0d, 0x0a]), b('\r\n')]),
    );
  });
});

describe('CLI RESP3 replies (state-store-protocol.md §7.2)', () => {
  it.each([
    ['+OK\r\n', { type: 'ok' }],
    [':-1\r\n', { type: 'integer', value: -1 }],
    [':0\r\n', { type: 'integer', value: 0 }],
    [':1\r\n', { type: 'integer', value: 1 }],
    ['$-1\r\n', { type: 'nil' }],
    ['-ERR syntax error\r\n', { type: 'error', message: 'syntax error' }],
    ['-ERR \r\n', { type: 'error', message: '' }],
  ])('parses %j', (payload, expected) => {
    expect(parseReply(b(payload))).toEqual(expected);
  });

  it('parses bulk strings, empty and binary ones included', () => {
    expect(parseReply(b('$4\r\n1234\r\n'))).toEqual({ type: 'bulk', value: b('1234') });
    expect(parseReply(b('$0\r\n\r\n'))).toEqual({ type: 'bulk', value: Buffer.alloc(0) });
    expect(parseReply(b('$4\r\na\r\n\xff\r\n'))).toEqual({ type: 'bulk', value: b('a\r\n\xff') });
  });

  it.each([
    '', '1', '11\r\nhello world\r\n', '$11hello world\r\n', '$11\r\nhello world', '$not an integer\r\nhello world',
    '$11\r\nthis string is longer than 11 characters\r\n', '-ERR\r\n', 'ERR description\r\n', '-ERR description', ':',
    '1234\r\n', ':1234', ':not an integer\r\n', '+hello world\r\n', '+', 'OK\r\n', '+OK', '+OK\r\n+OK\r\n', '_\r\n',
  ])('rejects %j', (payload) => {
    expect(parseReply(b(payload)).type).toBe('malformed');
  });
});

describe('CLI key notifications (state-store-protocol.md §7.3)', () => {
  it('parses SET and DELETE', () => {
    expect(parseNotification(b('*4\r\n$6\r\nNOTIFY\r\n$3\r\nSET\r\n$5\r\nVALUE\r\n$3\r\nabc\r\n'))).toEqual({ operation: 'SET', value: b('abc') });
    expect(parseNotification(b('*2\r\n$6\r\nNOTIFY\r\n$6\r\nDELETE\r\n'))).toEqual({ operation: 'DELETE' });
  });

  it.each([
    '*1\r\n$6\r\nNOTIFY\r\n',
    '*2\r\n$9\r\nNotNOTIFY\r\n$6\r\nDELETE\r\n',
    '*2\r\n$6\r\nNOTIFY\r\n$7\r\nUNKNOWN\r\n',
    '*3\r\n$6\r\nNOTIFY\r\n$6\r\nDELETE\r\n$10\r\nExtraStuff\r\n',
    '*5\r\n$6\r\nNOTIFY\r\n$3\r\nSET\r\n$5\r\nVALUE\r\n$5\r\nvalue\r\n$10\r\nExtraStuff\r\n',
    '*2\r\n$6\r\nNOTIFY\r\n$6\r\nDELETE\r\ntrailing',
  ])('rejects %j', (payload) => {
    expect(parseNotification(b(payload))).toBeUndefined();
  });

  it('hex-encodes topic segments upper-case (N5)', () => {
    expect(hexUpper('statestore-cli-0.1.0')).toBe('737461746573746F72652D636C692D302E312E30');
    expect(hexUpper(Buffer.from([0x6b, 0x00, 0xff]))).toBe('6B00FF');
  });
});

describe('CLI HLC', () => {
  it('formats padded and parses padded or unpadded text', () => {
    expect(formatHlc({ wall: 1696374425000, counter: 1, node: 'StateStore' })).toBe('001696374425000:00001:StateStore');
    expect(parseHlc('1696374425000:1:StateStore')).toEqual({ wall: 1696374425000, counter: 1, node: 'StateStore' });
    expect(parseHlc('001696374425000:00001:StateStore')).toEqual(parseHlc('1696374425000:1:StateStore'));
    for (const bad of ['abc', '1:2', '1:2:', 'x:1:n', '1:-2:n', '1:2:3:4']) expect(parseHlc(bad)).toBeUndefined();
    expect(hlcTime('1696374425000:0:n')).toBe('2023-10-03T23:07:05.000Z');
  });

  it('orders by wall clock, counter, node id', () => {
    const h = (wall: number, counter: number, node = 'a') => ({ wall, counter, node });
    expect(compareHlc(h(1, 9), h(2, 0))).toBe(-1);
    expect(compareHlc(h(2, 1), h(2, 0))).toBe(1);
    expect(compareHlc(h(2, 1, 'b'), h(2, 1, 'a'))).toBe(1);
    expect(compareHlc(h(2, 1), h(2, 1))).toBe(0);
  });

  it('the client clock increases strictly and moves past versions it sees', () => {
    let now = 1000;
    const clock = new ClientClock('me', () => now);
    expect(clock.next()).toBe('000000000001000:00000:me');
    expect(clock.next()).toBe('000000000001000:00001:me');
    clock.observe('5000:3:server');
    expect(clock.next()).toBe('000000000005000:00004:me');
    clock.observe('garbage');
    now = 6000;
    expect(clock.next()).toBe('000000000006000:00000:me');
  });
});

describe('CLI state helpers', () => {
  it('JSON values: UTF-8 text, else base64', () => {
    expect(jsonValue(Buffer.from('héllo'))).toEqual({ value: 'héllo' });
    expect(jsonValue(Buffer.from([0x61, 0x00, 0xff]))).toEqual({ valueBase64: 'YQD/' });
  });

  it('picks the plain-MQTT port of the default listener', () => {
    const port = (listener: string, p: number, extra: object = {}) => ({ listener, configuredPort: p, port: p, host: '127.0.0.1', ...extra });
    expect(defaultListenerPort([port('extra', 1884), port('default', 1883)])).toBe(1883);
    expect(defaultListenerPort([port('default', 8883, { tls: true }), port('extra', 1884)])).toBe(1884);
    expect(defaultListenerPort([port('default', 8080, { protocol: 'WebSockets' })])).toBeUndefined();
  });

  it('explains connection errors', () => {
    expect(connectionErrorReason(Object.assign(new AggregateError([], ''), { code: 'ECONNREFUSED' }))).toContain('connection refused');
    expect(connectionErrorReason(new Error('connack timeout'))).toBe('connack timeout');
  });
});
