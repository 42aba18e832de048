/**
 * The inbox frame codec (src/cluster/inbox-frame.ts): what frontends write to each other's inboxes.
 * A message frame carries its publisher's identity only towards in-process services (the state
 * store leader decides for a remote requester with it), and a frame from the backend is hostile.
 */
import { describe, expect, it } from 'vitest';
import { carriesSender, decodeFrame, encodeFrame, messageOf, type InboxFrame } from '../../../src/cluster/inbox-frame.js';
import { BinaryWriter, RecordFormatError } from '../../../src/storage/binary-io.js';

const message = { topic: 'statestore/v1/FA03/command/invoke', payload: Buffer.from('*1\r\n$3\r\nGET\r\n'), qos: 1 as const, retain: false, senderId: 'dev1' };
const sender = { identity: { clientId: 'dev1', username: 'alice', attributes: { group: 'line-1', ['__proto__']: 'x' } }, authorization: 'rules' };

describe('inbox frames', () => {
  it('a message frame round-trips with and without its sender, and the engine message carries the sender', () => {
    const plain: InboxFrame = { kind: 'message', message, targets: [{ clientId: 'sub' }, { clientId: 'm1', group: 'g', topicFilter: 't/#' }] };
    expect(decodeFrame(encodeFrame(plain))).toEqual(plain);
    const withSender: InboxFrame = { kind: 'message', message, targets: [{ clientId: '$ops-statestore' }], sender };
    const decoded = decodeFrame(encodeFrame(withSender));
    expect(decoded).toMatchObject({ kind: 'message', targets: [{ clientId: '$ops-statestore' }], sender: { authorization: 'rules', identity: { clientId: 'dev1', username: 'alice' } } });
    if (decoded.kind !== 'message') throw new Error('not a message frame');
    // `__proto__` is an attribute like any other, not the object's prototype.
    expect(Object.entries(decoded.sender?.identity.attributes ?? {})).toEqual([['group', 'line-1'], ['__proto__', 'x']]);
    expect(messageOf(decoded).remoteSender).toEqual(decoded.sender);
    expect(messageOf(decodeFrame(encodeFrame(plain)) as Extract<InboxFrame, { kind: 'message' }>).remoteSender).toBeUndefined();
    const open = decodeFrame(encodeFrame({ kind: 'message', message, targets: [{ clientId: '$ops-statestore' }], sender: { identity: { clientId: 'dev1', username: undefined, attributes: {} }, authorization: undefined } }));
    expect(open).toMatchObject({ sender: { authorization: undefined, identity: { username: undefined } } });
  });

  it('identities go only to in-process services ($ ids), never along with a message to client sessions', () => {
    expect(carriesSender([{ clientId: 'sub' }, { clientId: 'm1', group: 'g', topicFilter: 't' }])).toBe(false);
    expect(carriesSender([{ clientId: 'sub' }, { clientId: '$ops-statestore' }])).toBe(true);
  });

  it('a sender section that lies about its attribute count, is truncated or has a bad flag is refused, not allocated', () => {
    const bytes = encodeFrame({ kind: 'message', message, targets: [{ clientId: '$ops-statestore' }], sender: { identity: { clientId: 'dev1', username: undefined, attributes: {} }, authorization: undefined } });
    // The attribute count sits 5 bytes before the end: [u32 count][u8 no authorization].
    const lying = Buffer.from(bytes);
    lying.writeUInt32BE(0xffff_ffff, lying.length - 5);
    expect(() => decodeFrame(lying)).toThrow(RecordFormatError);
    expect(() => decodeFrame(bytes.subarray(0, bytes.length - 1))).toThrow(RecordFormatError);
    const badFlag = Buffer.from(bytes);
    badFlag.writeUInt8(7, badFlag.length - 1);
    expect(() => decodeFrame(badFlag)).toThrow(/flag 7/);
  });
});

const record = (topic: string, payload: string) => ({ topic, payload: Buffer.from(payload), qos: 1 as const, retain: false });

describe('inbox frames of one turn (kind 5)', () => {
  it('a messages frame (one turn\'s messages for one frontend) round-trips in order, plain and shared targets', () => {
    const frame: InboxFrame = {
      kind: 'messages',
      items: [
        { message: record('a/b', 'one'), targets: [{ clientId: 'c1' }, { clientId: 'c2', group: 'g', topicFilter: 'a/+' }] },
        { message: record('a/c', ''), targets: [{ clientId: 'c{1}' }] },
        { message: record('x', 'three'), targets: [] },
      ],
    };
    expect(decodeFrame(encodeFrame(frame))).toEqual(frame);
  });

  it('a messages frame claiming more messages than its bytes can hold, truncated, or with trailing bytes is refused', () => {
    const lie = new BinaryWriter(16);
    lie.u8(1);
    lie.u8(5);
    lie.u32(0xffffffff);
    expect(() => decodeFrame(lie.finish())).toThrow(/claims/);
    const bytes = encodeFrame({ kind: 'messages', items: [{ message: record('t', 'p'), targets: [{ clientId: 'c' }] }] });
    expect(() => decodeFrame(bytes.subarray(0, bytes.length - 1))).toThrow();
    expect(() => decodeFrame(Buffer.concat([bytes, Buffer.from([0])]))).toThrow();
  });
});
