import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HIGH_WATER, InboxBacklog, LOW_WATER, MEASURE_EVERY, POLL_MS, STALL_MS } from '../../../src/cluster/inbox-backlog.js';
import type { RedisClusterCommands, RedisCommand, RedisReply } from '../../../src/storage/redis/cluster-commands.js';

/** A backend whose inbox length the test sets; `XLEN` answers it (or fails while `down`). */
function fakeBackend(): { client: RedisClusterCommands; length: number; down: boolean; polls: number } {
  const backend = {
    length: 0,
    down: false,
    polls: 0,
    client: {
      exec: async (_slotKey: string, commands: readonly RedisCommand[]): Promise<RedisReply[]> => {
        backend.polls++;
        if (backend.down) throw new Error('connection lost');
        return commands.map(() => backend.length);
      },
      execOnMasters: async () => [],
      close: async () => undefined,
    },
  };
  return backend;
}

const KEY = 'ib:{f:b}';

describe('InboxBacklog: flow control between frontends', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Sends until one measures, and feeds it `length`. */
  function measure(backlog: InboxBacklog, length: number): void {
    for (let i = 0; i <= MEASURE_EVERY; i++) {
      if (backlog.measureCommand(KEY) !== undefined) {
        backlog.measured(KEY, length);
        return;
      }
    }
    throw new Error('no send measured');
  }

  it('measures the first send to an inbox and then one in MEASURE_EVERY; below the high-water mark nothing is held', () => {
    const backlog = new InboxBacklog(fakeBackend().client);
    expect(backlog.measureCommand(KEY)).toEqual(['XLEN', KEY]);
    backlog.measured(KEY, HIGH_WATER);
    let measured = 0;
    for (let i = 0; i < MEASURE_EVERY * 4; i++) if (backlog.measureCommand(KEY) !== undefined) measured++;
    expect(measured).toBe(4);
    expect(backlog.room(KEY)).toBeUndefined();
    backlog.close();
  });

  it('holds acknowledgements while the inbox is above the high-water mark, polls it, and releases them at the low-water mark', async () => {
    const backend = fakeBackend();
    const backlog = new InboxBacklog(backend.client);
    backlog.measureCommand(KEY);
    backlog.measured(KEY, HIGH_WATER + 1);
    let released = 0;
    for (let i = 0; i < 3; i++) void backlog.room(KEY)?.then(() => released++);
    expect(backlog.held).toBe(3);
    backend.length = LOW_WATER + 1; // going down, not low enough
    await vi.advanceTimersByTimeAsync(POLL_MS);
    expect(backend.polls).toBe(1);
    expect(released).toBe(0);
    backend.length = LOW_WATER;
    await vi.advanceTimersByTimeAsync(POLL_MS);
    expect(released).toBe(3);
    expect(backlog.held).toBe(0);
    expect(backlog.room(KEY)).toBeUndefined();
    backlog.close();
  });

  it('an inbox that does not go down for STALL_MS (its frontend died) holds no one until it goes down again', async () => {
    const backend = fakeBackend();
    const backlog = new InboxBacklog(backend.client);
    backend.length = HIGH_WATER + 100;
    measure(backlog, backend.length);
    let released = false;
    void backlog.room(KEY)?.then(() => (released = true));
    await vi.advanceTimersByTimeAsync(STALL_MS - POLL_MS);
    expect(released).toBe(false);
    await vi.advanceTimersByTimeAsync(2 * POLL_MS);
    expect(released).toBe(true);
    expect(backlog.room(KEY)).toBeUndefined(); // stalled: not held
    backend.length = HIGH_WATER + 50; // progress: held again
    measure(backlog, backend.length);
    expect(backlog.room(KEY)).toBeInstanceOf(Promise);
    backlog.close();
  });

  it('an inbox whose length cannot be read (a failover) holds no one; close releases everything', async () => {
    const backend = fakeBackend();
    const backlog = new InboxBacklog(backend.client);
    measure(backlog, HIGH_WATER + 1);
    let released = 0;
    void backlog.room(KEY)?.then(() => released++);
    backend.down = true;
    await vi.advanceTimersByTimeAsync(POLL_MS);
    expect(released).toBe(1);
    expect(backlog.room(KEY)).toBeUndefined();
    backlog.measured(KEY, 'not a number' as unknown as RedisReply);
    expect(backlog.room(KEY)).toBeUndefined();
    measure(backlog, HIGH_WATER + 1);
    void backlog.room(KEY)?.then(() => released++);
    backlog.close();
    await Promise.resolve();
    expect(released).toBe(2);
    expect(backlog.room(KEY)).toBeUndefined();
  });

  it('counts the messages waiting as the entries times the messages per entry this frontend sends there', () => {
    const backlog = new InboxBacklog(fakeBackend().client);
    backlog.measureCommand(KEY);
    for (let i = 0; i < 100; i++) backlog.sent(KEY, 64);
    const entries = Math.ceil(HIGH_WATER / 64) + 2; // entries of ~64 messages: over the mark
    backlog.measured(KEY, entries);
    expect(backlog.room(KEY)).toBeInstanceOf(Promise);
    backlog.measured(KEY, Math.floor(LOW_WATER / 64)); // released
    expect(backlog.held).toBe(0);
    backlog.close();
  });
});
