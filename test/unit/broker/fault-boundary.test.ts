import { afterEach, describe, expect, it, vi } from 'vitest';
import { ABUSE_LOG_INTERVAL_MS } from '../../../src/broker/abuse-log.js';
import { Counters } from '../../../src/broker/counters.js';
import { FaultBoundary } from '../../../src/broker/fault-boundary.js';
import type { Logger } from '../../../src/shared/log.js';

/** A logger that keeps its lines. */
function recordingLogger(): { logger: Logger; lines: { level: string; fields: Record<string, unknown>; message: string }[] } {
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const at = (level: string) => (fields: Readonly<Record<string, unknown>>, message: string) => void lines.push({ level, fields: { ...fields }, message });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('FaultBoundary', () => {
  it('contains an error: run returns false, the error is counted, logged with its code and stack', () => {
    const { logger, lines } = recordingLogger();
    const counters = new Counters();
    const faults = new FaultBoundary(logger, counters);
    const ok = faults.run('will', 'c1', () => {
      throw Object.assign(new TypeError('bad will'), { code: 'ERR_INVALID_ARG_TYPE' });
    });
    expect(ok).toBe(false);
    expect(counters.internalErrors).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.level).toBe('error');
    expect(lines[0]?.fields).toMatchObject({ area: 'will', clientId: 'c1', err: 'bad will', errCode: 'ERR_INVALID_ARG_TYPE' });
    expect(String(lines[0]?.fields['stack'])).toContain('TypeError: bad will');
    expect(faults.run('will', 'c1', () => undefined)).toBe(true);
  });

  it('logs one line per area per interval, counting every error; the next line says how many were suppressed', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    const { logger, lines } = recordingLogger();
    const counters = new Counters();
    const faults = new FaultBoundary(logger, counters);
    for (let i = 0; i < 100; i++) faults.report('delivery', new Error(`e${i}`), `c${i}`);
    faults.report('session-expiry', new Error('other area'));
    expect(counters.internalErrors).toBe(101);
    expect(lines.map((l) => l.fields['area'])).toEqual(['delivery', 'session-expiry']);
    vi.setSystemTime(1_000_000 + ABUSE_LOG_INTERVAL_MS);
    faults.report('delivery', new Error('later'));
    expect(lines).toHaveLength(3);
    expect(lines[2]?.fields).toMatchObject({ area: 'delivery', err: 'later', suppressed: 99 });
  });

  it('counts undeliverable messages apart from internal errors, logged at warn with the topic', () => {
    const { logger, lines } = recordingLogger();
    const counters = new Counters();
    const faults = new FaultBoundary(logger, counters);
    faults.undeliverable('t/x', new RangeError('too long'), 'sub');
    expect(counters.messagesUndeliverable).toBe(1);
    expect(counters.internalErrors).toBe(0);
    expect(lines[0]).toMatchObject({ level: 'warn', fields: { topic: 't/x', clientId: 'sub', err: 'too long' } });
  });
});
