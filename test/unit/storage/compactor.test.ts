import { describe, expect, it } from 'vitest';
import { Compactor } from '../../../src/storage/level/compactor.js';
import { SizeLedger } from '../../../src/storage/level/size-ledger.js';
import { StoreQuota } from '../../../src/storage/level/store-quota.js';

/** A compaction the test finishes by hand. */
function manualCompaction(): { run: () => Promise<void>; started: number; finish: () => void; concurrent: number } {
  const state = { started: 0, running: 0, concurrent: 0, pending: [] as (() => void)[] };
  return {
    run: () => {
      state.started++;
      state.running++;
      state.concurrent = Math.max(state.concurrent, state.running);
      return new Promise<void>((resolve) => state.pending.push(() => {
        state.running--;
        resolve();
      }));
    },
    get started() {
      return state.started;
    },
    get concurrent() {
      return state.concurrent;
    },
    finish: () => state.pending.shift()?.(),
  };
}

describe('Compactor', () => {
  const policy = { minBytes: 100, maxBytes: 1000, ratio: 0.25 };

  it('runs once enough bytes were freed, never twice at once, and again for bytes freed meanwhile', async () => {
    const compaction = manualCompaction();
    const compactor = new Compactor(() => compaction.run(), () => 10_000, policy);
    compactor.freed(500);
    expect(compaction.started).toBe(0); // 500 < min(1000, 2500)
    compactor.freed(500);
    expect(compaction.started).toBe(1);
    compactor.freed(5000);
    compactor.freed(5000);
    expect(compaction.started).toBe(1);
    expect(compactor.stats).toMatchObject({ running: true, runs: 0, freedBytes: 10_000 });
    compaction.finish();
    await Promise.resolve();
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(compaction.started).toBe(2); // the bytes freed during the first run
    const idle = compactor.idle();
    compaction.finish();
    await idle;
    expect(compactor.stats).toMatchObject({ running: false, runs: 2, failures: 0, freedBytes: 0 });
    expect(compaction.concurrent).toBe(1);
  });

  it('counts failures, and starts nothing once stopped or when unavailable', async () => {
    let calls = 0;
    const failing = new Compactor(() => {
      calls++;
      return Promise.reject(new Error('disk'));
    }, () => 0, policy);
    failing.freed(200);
    await failing.idle();
    expect(failing.stats).toMatchObject({ runs: 1, failures: 1 });
    await failing.stop();
    failing.freed(10_000);
    expect(calls).toBe(1);
    const unavailable = new Compactor(undefined, () => 0, policy);
    unavailable.freed(10_000);
    expect(unavailable.stats).toMatchObject({ available: false, runs: 0, freedBytes: 10_000 });
  });
});

describe('SizeLedger and StoreQuota', () => {
  const key = (s: string): Buffer => Buffer.from(s);

  it('counts replacements, deletions and whole-queue clears, and undoes exactly', () => {
    const ledger = new SizeLedger();
    ledger.apply([{ kind: 'put', key: key('s/a'), size: 10 }]);
    ledger.apply([{ kind: 'putEntry', prefix: key('q/a'), seq: 1, size: 100 }, { kind: 'putEntry', prefix: key('q/a'), seq: 2, size: 100 }]);
    expect(ledger.usedBytes).toBe(210);
    const replaced = ledger.apply([{ kind: 'putEntry', prefix: key('q/a'), seq: 1, size: 104 }]);
    expect(replaced).toMatchObject({ added: 104, freed: 100, created: 0 });
    const cleared = ledger.apply([{ kind: 'del', key: key('s/a') }, { kind: 'clearQueue', prefix: key('q/a') }, { kind: 'putEntry', prefix: key('q/a'), seq: 3, size: 7 }]);
    expect(cleared).toMatchObject({ freed: 214, added: 7, created: 1 });
    expect(ledger.usedBytes).toBe(7);
    cleared.undo();
    expect(ledger.usedBytes).toBe(214);
    expect(ledger.records).toBe(3);
    ledger.apply([{ kind: 'delEntry', prefix: key('q/a'), seq: 9 }]); // unknown: nothing
    expect(ledger.usedBytes).toBe(214);
  });

  it('refuses data over the limit, lets bookkeeping use the reserve, always accepts shrinking writes', () => {
    const quota = new StoreQuota(1000);
    expect(quota.admit([{ kind: 'putEntry', prefix: key('q/a'), seq: 1, size: 990 }], 'entries')).not.toBeInstanceOf(Error);
    const refused = quota.admit([{ kind: 'putEntry', prefix: key('q/a'), seq: 2, size: 20 }], 'entries');
    expect(refused).toBeInstanceOf(Error);
    expect(quota.usage()).toMatchObject({ usedBytes: 990, limitBytes: 1000, full: true, refusedWrites: 1, records: 1 });
    expect(quota.admit([{ kind: 'putEntry', prefix: key('q/a'), seq: 1, size: 1000 }], 'entries')).not.toBeInstanceOf(Error); // replacement
    expect(quota.admit([{ kind: 'put', key: key('s/a'), size: 40 }], 'session')).not.toBeInstanceOf(Error); // reserve: 50
    expect(quota.admit([{ kind: 'put', key: key('s/b'), size: 40 }], 'session')).toBeInstanceOf(Error);
    expect(quota.admit([{ kind: 'put', key: key('r/t'), size: 1 }], 'data')).toBeInstanceOf(Error);
    expect(quota.admit([{ kind: 'delEntry', prefix: key('q/a'), seq: 1 }], 'data')).not.toBeInstanceOf(Error);
    expect(quota.usage()).toMatchObject({ usedBytes: 40, full: false, refusedWrites: 3 });
    expect(new StoreQuota(undefined).usage()).toEqual({ usedBytes: 0, full: false, refusedWrites: 0, records: 0 });
  });
});
