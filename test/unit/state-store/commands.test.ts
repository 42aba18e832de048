import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { executeCommand, type CommandContext, type StateStoreAuthorizer } from '../../../src/services/state-store/commands.js';
import { formatHlc } from '../../../src/shared/hlc-text.js';
import { HybridClock } from '../../../src/services/state-store/server-clock.js';
import { NotifyRegistry } from '../../../src/services/state-store/notify-registry.js';
import { encodeArray } from '../../../src/services/state-store/resp3-server.js';
import { KeyStore, type ChangeEvent } from '../../../src/services/state-store/key-value-store.js';

const NOW = 1_700_000_000_000;
let ctx: CommandContext;
let expired: ChangeEvent[];
let allow: StateStoreAuthorizer;

function setup(maxKeys = Number.POSITIVE_INFINITY): void {
  const now = (): number => Date.now();
  const clock = new HybridClock('server', now);
  expired = [];
  allow = () => true;
  ctx = { store: new KeyStore({ clock, now, onExpired: (e) => expired.push(e) }), clock, notify: new NotifyRegistry(), now, authorize: (c, k, m) => allow(c, k, m), maxKeys };
}

const TS = (): string => `${Date.now()}:0:client`;
function run(args: string[], props: { ts?: string | null; ft?: string; client?: string } = {}) {
  const payload = encodeArray(args);
  const elements = args.map((a) => Buffer.from(a, 'latin1'));
  expect(payload.length).toBeGreaterThan(0);
  const r = executeCommand(ctx, {
    clientId: props.client ?? 'c1',
    elements,
    timestamp: props.ts === null ? undefined : (props.ts ?? TS()),
    fencingToken: props.ft,
  });
  return { reply: r.reply.toString('latin1'), ts: r.version === undefined ? undefined : formatHlc(r.version), events: r.events };
}

beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
  setup();
});
afterEach(() => {
  ctx.store.close();
  vi.useRealTimers();
});

describe('state store commands', () => {
  it('B1 CRUD with versions', () => {
    const set = run(['SET', 'k', 'v']);
    expect(set.reply).toBe('+OK\r\n');
    expect(set.ts).toBe(`00${NOW}:00001:server`);
    const get = run(['GET', 'k']);
    expect(get).toMatchObject({ reply: '$1\r\nv\r\n', ts: set.ts });
    const del = run(['DEL', 'k']);
    expect(del.reply).toBe(':1\r\n');
    expect(del.ts).toBeDefined();
    expect(del.events).toMatchObject([{ kind: 'delete' }]);
    expect(run(['GET', 'k'])).toMatchObject({ reply: '$-1\r\n', ts: undefined });
  });

  it('B3/B4 conditional set and B5/B6 conditional delete', () => {
    expect(run(['SET', 'n', 'v', 'NEX']).reply).toBe('+OK\r\n');
    const first = run(['SET', 'k', 'v1', 'NX']);
    expect(first.reply).toBe('+OK\r\n');
    const again = run(['SET', 'k', 'v1', 'NX']);
    expect(again).toMatchObject({ reply: ':-1\r\n', ts: first.ts, events: [] });
    expect(run(['SET', 'k', 'v2', 'NEX']).reply).toBe(':-1\r\n');
    expect(run(['SET', 'k', 'v1', 'NEX']).reply).toBe('+OK\r\n');
    expect(run(['VDEL', 'k', 'other']).reply).toBe(':-1\r\n');
    expect(run(['VDEL', 'k', 'v1']).reply).toBe(':1\r\n');
    expect(run(['VDEL', 'k', 'v1']).reply).toBe(':0\r\n');
    expect(run(['DEL', 'k']).reply).toBe(':0\r\n');
    expect(run(['GET', 'k']).reply).toBe('$-1\r\n');
  });

  it('B7/B8 empty value and empty key', () => {
    expect(run(['SET', 'k', '']).reply).toBe('+OK\r\n');
    expect(run(['GET', 'k'])).toMatchObject({ reply: '$0\r\n\r\n' });
    expect(run(['GET', '']).reply).toBe('-ERR the key length is zero\r\n');
    expect(run(['SET', '', '']).reply).toBe('-ERR the key length is zero\r\n');
  });

  it('B20/B21 syntax, arity, timestamps', () => {
    expect(run(['PING']).reply).toBe('-ERR unknown command\r\n');
    expect(run(['get', 'k']).reply).toBe('-ERR unknown command\r\n');
    expect(run(['GET']).reply).toBe('-ERR wrong number of arguments\r\n');
    expect(run(['SET', 'k']).reply).toBe('-ERR wrong number of arguments\r\n');
    expect(run(['VDEL', 'k']).reply).toBe('-ERR wrong number of arguments\r\n');
    expect(run(['SET', 'k', 'v', 'PX', 'abc']).reply).toBe('-ERR syntax error\r\n');
    for (const opts of [['PX', '0'], ['PX', '-1'], ['PX', '1.5'], ['PX'], ['NX', 'NEX'], ['XX'], ['nx']]) {
      expect(run(['SET', 'k', 'v', ...opts]).reply).toBe('-ERR syntax error\r\n');
    }
    expect(run(['KEYNOTIFY', 'k', 'NOW']).reply).toBe('-ERR syntax error\r\n');
    expect(run(['SET', 'k', 'v'], { ts: null }).reply).toBe('-ERR missing timestamp\r\n');
    expect(run(['GET', 'k'], { ts: null }).reply).toBe('$-1\r\n');
    expect(run(['SET', 'k', 'v'], { ts: 'abc' }).reply).toBe('-ERR malformed timestamp\r\n');
    expect(run(['SET', 'k', 'v'], { ft: '1:2' }).reply).toBe('-ERR malformed timestamp\r\n');
    expect(run(['SET', 'k', 'v'], { ts: `${NOW + 120_000}:0:c` }).reply).toBe(
      '-ERR the request timestamp is too far in the future; ensure that the client and broker system clocks are synchronized\r\n',
    );
    expect(run(['SET', 'k', 'v'], { ft: `${NOW + 10 * 365 * 86_400_000}:0:c` }).reply).toBe(
      '-ERR the request fencing token timestamp is too far in the future; ensure that the client and broker system clocks are synchronized\r\n',
    );
    expect(run(['SET', 'k', 'v', 'PX', '10', 'NX']).reply).toBe('+OK\r\n');
  });

  it('B14 fencing on a key', () => {
    const one = run(['SET', 'k', 'v3', 'PX', '10000'], { ft: `${NOW - 5000}:0:c` });
    expect(one.reply).toBe('+OK\r\n');
    const two = run(['SET', 'k', 'v4', 'PX', '10000'], { ft: one.ts! });
    expect(two.reply).toBe('+OK\r\n');
    expect(run(['SET', 'k', 'v5']).reply).toBe('-ERR a fencing token is required for this request\r\n');
    expect(run(['GET', 'k']).reply).toBe('$2\r\nv4\r\n');
    expect(run(['DEL', 'k']).reply).toBe('-ERR a fencing token is required for this request\r\n');
    expect(run(['VDEL', 'k', 'v4']).reply).toBe('-ERR a fencing token is required for this request\r\n');
    expect(run(['DEL', 'k'], { ft: `${NOW - 5000}:0:c` }).reply).toBe('-ERR the request fencing token is a lower version than the fencing token protecting the resource\r\n');
    expect(run(['DEL', 'k'], { ft: two.ts! }).reply).toBe(':1\r\n');
    expect(run(['SET', 'k', 'free']).reply).toBe('+OK\r\n');
  });

  it('B13 KEYNOTIFY and STOP', () => {
    expect(run(['KEYNOTIFY', 'k', 'STOP']).reply).toBe(':0\r\n');
    expect(run(['KEYNOTIFY', 'k']).reply).toBe('+OK\r\n');
    expect(run(['KEYNOTIFY', 'k']).reply).toBe('+OK\r\n');
    expect(ctx.notify.observers('k')).toEqual(['c1']);
    expect(run(['KEYNOTIFY', 'k', 'STOP']).reply).toBe('+OK\r\n');
    expect(run(['KEYNOTIFY', 'k', 'STOP']).reply).toBe(':0\r\n');
    run(['KEYNOTIFY', 'k']);
    ctx.notify.removeClient('c1');
    expect(ctx.notify.observers('k')).toEqual([]);
  });

  it('expires PX keys on a timer with a DELETE event, not only on access', () => {
    run(['SET', 'k', 'v', 'PX', '1000']);
    run(['SET', 'k2', 'v', 'PX', '500']);
    vi.advanceTimersByTime(499);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired.map((e) => [e.kind, e.key.toString()])).toEqual([['delete', 'k2']]);
    vi.advanceTimersByTime(500);
    expect(expired.map((e) => e.key.toString())).toEqual(['k2', 'k']);
    expect(ctx.store.size).toBe(0);
  });

  it('a later SET without PX clears the TTL; a renewal moves it', () => {
    run(['SET', 'k', 'v', 'PX', '100']);
    run(['SET', 'k', 'v']);
    run(['SET', 'l', 'A', 'NEX', 'PX', '100']);
    vi.advanceTimersByTime(50);
    run(['SET', 'l', 'A', 'NEX', 'PX', '100']);
    vi.advanceTimersByTime(60);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(40);
    expect(expired.map((e) => e.key.toString())).toEqual(['l']);
    expect(run(['GET', 'k']).reply).toBe('$1\r\nv\r\n');
  });

  it('B16 lease contention and renewal gives growing tokens', () => {
    const t1 = run(['SET', 'lock', 'A', 'NEX', 'PX', '10000']);
    expect(run(['SET', 'lock', 'B', 'NEX', 'PX', '10000']).reply).toBe(':-1\r\n');
    vi.advanceTimersByTime(5);
    const t2 = run(['SET', 'lock', 'A', 'NEX', 'PX', '10000']);
    expect(t2.reply).toBe('+OK\r\n');
    expect(t2.ts! > t1.ts!).toBe(true);
    expect(run(['VDEL', 'lock', 'B']).reply).toBe(':-1\r\n');
    expect(run(['VDEL', 'lock', 'A']).reply).toBe(':1\r\n');
    expect(run(['VDEL', 'lock', 'A']).reply).toBe(':0\r\n');
  });

  it('authorization and quota', () => {
    allow = (_c, key, method) => !(key.toString() === 'secret' && method === 'Write');
    expect(run(['SET', 'secret', 'v']).reply).toBe('-ERR not authorized\r\n');
    expect(run(['GET', 'secret']).reply).toBe('$-1\r\n');
    allow = () => {
      throw new Error('boom');
    };
    expect(run(['GET', 'k']).reply).toBe('-ERR not authorized\r\n');
    ctx.store.close();
    setup(1);
    expect(run(['SET', 'a', 'v']).reply).toBe('+OK\r\n');
    expect(run(['SET', 'a', 'w']).reply).toBe('+OK\r\n');
    expect(run(['SET', 'b', 'v']).reply).toBe('-ERR the quota has been exceeded\r\n');
  });
});
