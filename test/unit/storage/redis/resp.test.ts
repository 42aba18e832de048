import { describe, expect, it, vi } from 'vitest';
import { RedisErrorReply } from '../../../../src/storage/redis/cluster-commands.js';
import { DEFAULT_RESP_LIMITS, encodeCommands, RespParser } from '../../../../src/storage/redis/resp.js';

const b = (text: string): Buffer => Buffer.from(text, 'latin1');

describe('RESP2 encoder', () => {
  it('writes commands as arrays of bulk strings (strings as UTF-8, numbers in decimal, buffers as they are)', () => {
    const bytes = encodeCommands([['SET', 'k', Buffer.from([0, 0xff, 13, 10])], ['WAIT', 1, 500], ['GET', 'ü']]);
    expect(bytes.toString('latin1')).toBe(
      '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\n\x00\xff\r\n\r\n' + '*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$3\r\n500\r\n' + '*2\r\n$3\r\nGET\r\n$2\r\n\xc3\xbc\r\n',
    );
  });

  it('writes every word length and kind like a word-by-word encoder (lengths across digit boundaries, lone surrogates, negative and large numbers)', () => {
    const reference = (commands: (string | Buffer | number)[][]): Buffer =>
      Buffer.concat(
        commands.flatMap((command) => [
          Buffer.from(`*${command.length}\r\n`),
          ...command.flatMap((word) => {
            const bytes = Buffer.isBuffer(word) ? word : Buffer.from(String(word), 'utf8');
            return [Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n')];
          }),
        ]),
      );
    const words: (string | Buffer | number)[] = ['', 'x', '\ud800', 'é'.repeat(5), -12, 0, 1e21, 2 ** 53, 1.5];
    for (const n of [9, 10, 11, 99, 100, 101, 999, 1000, 65_536]) words.push(Buffer.alloc(n, 7), 'a'.repeat(n));
    const commands = [words, Array.from({ length: 10 }, (_, i) => i), Array.from({ length: 100 }, () => 'w'), []];
    expect(encodeCommands(commands).equals(reference(commands))).toBe(true);
  });
});

describe('RESP2 parser', () => {
  const sample = b('+OK\r\n-ERR wrong\r\n:42\r\n:-7\r\n$5\r\nhe\r\nl\r\n$0\r\n\r\n$-1\r\n*-1\r\n*0\r\n*3\r\n:1\r\n*1\r\n$1\r\nx\r\n$-1\r\n');
  const expected = [b('OK'), new RedisErrorReply('ERR wrong'), 42, -7, b('he\r\nl'), b(''), null, null, [], [1, [b('x')], null]];

  it('parses every reply type', () => {
    const result = new RespParser().push(sample);
    expect(result.error).toBeUndefined();
    expect(result.replies).toEqual(expected);
  });

  it('gives the same replies whatever the split: every split point, and one byte at a time', () => {
    for (let cut = 0; cut <= sample.length; cut++) {
      const parser = new RespParser();
      const replies = [...parser.push(sample.subarray(0, cut)).replies, ...parser.push(sample.subarray(cut)).replies];
      expect(replies).toEqual(expected);
      expect(parser.pendingBytes).toBe(0);
    }
    const parser = new RespParser();
    const replies = [];
    for (const byte of sample) replies.push(...parser.push(Buffer.from([byte])).replies);
    expect(replies).toEqual(expected);
  });

  it('holds an incomplete reply until its last byte', () => {
    const parser = new RespParser();
    expect(parser.push(b('*2\r\n$3\r\nab')).replies).toEqual([]);
    expect(parser.push(b('c\r\n')).replies).toEqual([]);
    expect(parser.push(b(':9\r')).replies).toEqual([]);
    expect(parser.push(b('\n+next\r\n')).replies).toEqual([[b('abc'), 9], b('next')]);
  });

  it.each([
    ['an unknown type byte', '!oops\r\n'],
    ['a CR without LF', '+OK\rX\n'],
    ['a non-numeric length', '$abc\r\n'],
    ['a length below -1', '$-2\r\n'],
    ['a non-numeric integer', ':12a\r\n'],
    ['an empty integer', ':\r\n'],
    ['an integer beyond 2^53', ':99999999999999999\r\n'],
    ['a bulk string not ended by CRLF', '$3\r\nabcXY'],
    ['a bulk string beyond the limit', `$${DEFAULT_RESP_LIMITS.maxBulkBytes + 1}\r\n`],
    ['an array beyond the limit', `*${DEFAULT_RESP_LIMITS.maxArrayLength + 1}\r\n`],
    ['arrays nested too deep', '*1\r\n'.repeat(DEFAULT_RESP_LIMITS.maxDepth + 1)],
  ])('reports %s as an error (never throws), keeping the replies before it', (_what, bad) => {
    const parser = new RespParser();
    const result = parser.push(b(`:1\r\n${bad}`));
    expect(result.replies).toEqual([1]);
    expect(result.error?.name).toBe('RespProtocolError');
    expect(parser.push(b('+OK\r\n'))).toEqual({ replies: [], error: result.error }); // stays failed
  });

  it('refuses a line longer than the limit without buffering without end', () => {
    const parser = new RespParser({ ...DEFAULT_RESP_LIMITS, maxLineBytes: 16 });
    expect(parser.push(b('+0123456789')).error).toBeUndefined();
    const result = parser.push(b('0123456789'));
    expect(result.error?.message).toMatch(/line longer/);
    expect(parser.pendingBytes).toBe(0);
  });

  it('refuses to hold more than maxReplyBytes for incomplete replies (many elements, each within the limits)', () => {
    const parser = new RespParser({ ...DEFAULT_RESP_LIMITS, maxReplyBytes: 64 });
    expect(parser.push(b('*1000\r\n')).error).toBeUndefined();
    for (let i = 0; i < 5; i++) expect(parser.push(b('$3\r\nabc\r\n')).error).toBeUndefined();
    const result = parser.push(b('$3\r\nabc\r\n'.repeat(5)));
    expect(result.error?.message).toMatch(/more than 64 bytes held/);
    expect(parser.pendingBytes).toBe(0);
  });

  it('does not re-parse a large bulk string at every chunk (waits for its declared length)', () => {
    const parser = new RespParser();
    const payload = Buffer.alloc(1 << 20, 0x61);
    expect(parser.push(b(`$${payload.length}\r\n`)).replies).toEqual([]);
    const concat = vi.spyOn(Buffer, 'concat');
    for (let i = 0; i < 1024; i++) expect(parser.push(payload.subarray(i * 1024, (i + 1) * 1024)).replies).toEqual([]);
    const { replies } = parser.push(b('\r\n'));
    expect(concat.mock.calls.length).toBeLessThanOrEqual(1); // one join of the chunks, not one per chunk
    concat.mockRestore();
    expect(replies).toHaveLength(1);
    expect((replies[0] as Buffer).equals(payload)).toBe(true);
  });

  it('resumes an incomplete array where it stopped: fed one byte at a time, a large array costs work linear in its bytes', () => {
    const elements = 20_000;
    const reply = Buffer.concat([b(`*${elements}\r\n`), ...Array.from({ length: elements }, (_, i) => b(i % 2 === 0 ? `$3\r\nv${String(i % 100).padStart(2, '0')}\r\n` : `:${i}\r\n`))]);
    const parser = new RespParser();
    const replies = [];
    for (let i = 0; i < reply.length; i++) replies.push(...parser.push(reply.subarray(i, i + 1)).replies);
    expect(replies).toHaveLength(1);
    expect((replies[0] as unknown[]).length).toBe(elements);
    expect((replies[0] as unknown[])[1]).toBe(1);
    expect(parser.pendingBytes).toBe(0);
    // A re-parse from the start at every chunk would take about elements x bytes / 2 steps (over 10^9 here).
    expect(parser.steps).toBeLessThanOrEqual(4 * reply.length);
  });
});
