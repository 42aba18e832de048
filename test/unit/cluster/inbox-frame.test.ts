import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, type InboxFrame } from '../../../src/cluster/inbox-frame.js';
import { BinaryWriter } from '../../../src/storage/binary-io.js';

const record = (topic: string, payload: string) => ({ topic, payload: Buffer.from(payload), qos: 1 as const, retain: false });

describe('inbox frames', () => {
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
