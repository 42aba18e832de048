import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { minLevelOf, sinceOf, tailOf } from '../../../src/cli/actions/broker/logs.js';
import { clockTime, escapeControls, formatLogLine, parseLogLine, passes } from '../../../src/cli/lib/log-format.js';

const plain = new Chalk({ level: 0 });
const coloured = new Chalk({ level: 1 });
const time = new Date(2026, 11, 7, 9, 5, 3, 7).getTime(); // local 09:05:03.007

const record = (fields: Record<string, unknown>): string => JSON.stringify({ level: 30, time, pid: 1, instance: 'default', ...fields });

describe('log line formatter', () => {
  it('prints a record as HH:MM:SS.mmm LEVEL msg key=value, without the base fields', () => {
    const line = record({ remoteAddress: '127.0.0.1', listener: 'default', port: 1883, clientId: 'c1', cleanStart: true, msg: 'client connected' });
    expect(formatLogLine(parseLogLine(line), plain)).toBe('09:05:03.007 INFO  client connected remoteAddress=127.0.0.1 listener=default port=1883 clientId=c1 cleanStart=true');
  });

  it('quotes values with spaces, and prints arrays and objects as JSON', () => {
    const line = JSON.stringify({ level: 40, time, msg: 'm', reason: 'keep alive timeout', filters: ['a/#=0x01'], o: { k: 1 }, n: null });
    expect(formatLogLine(parseLogLine(line), plain)).toBe('09:05:03.007 WARN  m reason="keep alive timeout" filters=["a/#=0x01"] o={"k":1} n=null');
  });

  it('escapes control characters from clients: no terminal escape survives', () => {
    const line = record({ msg: 'connection refused: bad\u001b[2J', clientId: 'x\u001b[31my\u009bz' });
    const out = formatLogLine(parseLogLine(line), plain);
    expect(out).not.toMatch(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/);
    expect(out).toContain('bad\\x1b[2J');
    expect(out).toContain('clientId=x\\x1b[31my\\x9bz');
    expect(escapeControls('a\tb\nc')).toBe('a\tb\\x0ac');
  });

  it('prints a non-JSON line (the broker process stderr) as it is', () => {
    const text = 'ops-broker: STO_LOCKED: the store is in use';
    const parsed = parseLogLine(text);
    expect(parsed.kind).toBe('plain');
    expect(formatLogLine(parsed, coloured)).toBe(text);
    expect(parseLogLine('{not json').kind).toBe('plain');
    expect(parseLogLine('{"msg":"no level"}').kind).toBe('plain');
  });

  it('colours the level only, and only with colours on', () => {
    const line = parseLogLine(JSON.stringify({ level: 50, time, msg: 'boom' }));
    expect(formatLogLine(line, plain)).toBe('09:05:03.007 ERROR boom');
    expect(formatLogLine(line, coloured)).toBe(`09:05:03.007 ${coloured.red('ERROR')} boom`);
    expect(formatLogLine(line, coloured)).not.toBe(formatLogLine(line, plain));
  });

  it('filters at or above a level and since a time; plain lines pass the level filter', () => {
    const warn = parseLogLine(JSON.stringify({ level: 40, time, msg: 'w' }));
    const info = parseLogLine(JSON.stringify({ level: 30, time, msg: 'i' }));
    const filter = { minLevel: minLevelOf('warn') };
    expect(passes(warn, filter)).toBe(true);
    expect(passes(info, filter)).toBe(false);
    expect(passes(parseLogLine('ops-broker: X: y'), filter)).toBe(true);
    expect(passes(warn, { minLevel: 0, since: time + 1 })).toBe(false);
    expect(passes(warn, { minLevel: 0, since: time })).toBe(true);
  });

  it('reads the flags: levels, durations and dates, tail counts; refuses the rest with CLI_USAGE', () => {
    expect(minLevelOf('ERROR')).toBe(50);
    expect(minLevelOf(undefined)).toBe(0);
    expect(() => minLevelOf('loud')).toThrow(expect.objectContaining({ code: 'CLI_USAGE' }));
    expect(sinceOf('10m', 1_000_000)).toBe(400_000);
    expect(sinceOf('2026-12-07T15:00:00Z')).toBe(Date.parse('2026-12-07T15:00:00Z'));
    expect(() => sinceOf('yesterday')).toThrow(expect.objectContaining({ code: 'CLI_USAGE' }));
    expect(tailOf('0')).toBe(0);
    expect(() => tailOf('-3')).toThrow(expect.objectContaining({ code: 'CLI_USAGE' }));
  });

  it('pads the clock', () => {
    expect(clockTime(new Date(2026, 0, 1, 1, 2, 3, 45).getTime())).toBe('01:02:03.045');
  });
});
