import { describe, expect, it } from 'vitest';
import { GroupCommit, type BatchOp, type BatchTarget, type BatchWrites, type WriteSink } from '../../../src/storage/level/group-commit.js';

/** Writes recorded as `put k=v` / `del k` lines (copied at the call, as a native batch does). */
function recordingWrites(onWrite: (lines: string[]) => Promise<void>): BatchWrites {
  const lines: string[] = [];
  return {
    get size() {
      return lines.length;
    },
    put: (key, value) => lines.push(`put ${key.toString()}=${value.toString()}`),
    del: (key) => lines.push(`del ${key.toString()}`),
    write: () => onWrite(lines),
  };
}

/**
 * A target recording each batch as `put k=v` / `del k` lines; deferred values are sealed as
 * `sealed(<plain>)`; `sealCalls` counts the finished batches that had values to seal; while
 * `failing` is set, writes reject.
 */
function recordingTarget(): BatchTarget & { batches: string[][]; sealCalls: number; failing: boolean } {
  const target = {
    batches: [] as string[][],
    sealCalls: 0,
    failing: false,
    begin(): BatchWrites {
      return recordingWrites((lines) => {
        if (target.failing) return Promise.reject(new Error('disk gone'));
        target.batches.push(lines);
        return Promise.resolve();
      });
    },
    finish(ops: readonly BatchOp[], sink: WriteSink): number {
      if (ops.some((op) => op.type === 'put' && !Buffer.isBuffer(op.value))) target.sealCalls++;
      for (const op of ops) {
        if (op.type === 'del') sink.del(op.key);
        else if (Buffer.isBuffer(op.value)) sink.put(op.key, op.value);
        else if ('plain' in op.value) sink.put(op.key, Buffer.from(`sealed(${op.value.plain.toString()})`));
        else throw new Error('these tests defer plain values only');
      }
      return 0;
    },
  };
  return target;
}

const b = (s: string): Buffer => Buffer.from(s);
const failure = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

describe('GroupCommit', () => {
  it('seal adds the commit mark last to each batch that writes, durable follows its write; not for empty, cancelled or failed batches', async () => {
    const target = recordingTarget();
    const events: string[] = [];
    let n = 0;
    const commit = new GroupCommit(
      {
        ...target,
        begin: () => target.begin(),
        finish: (ops, sink) => target.finish(ops, sink),
        seal: (sink) => {
          sink.put(b('meta/commit'), b(String(++n)));
          events.push(`seal ${n}`);
        },
        durable: () => events.push(`durable ${n}`),
      },
      failure,
    );
    await commit.submit([{ type: 'put', key: b('k1'), value: b('v') }]);
    await commit.barrier(); // nothing to write
    await Promise.all([commit.submit([{ type: 'put', key: b('q'), value: { plain: b('m') }, fresh: true }]), commit.submit([{ type: 'del', key: b('q') }])]);
    target.failing = true;
    await expect(commit.submit([{ type: 'del', key: b('k1') }])).rejects.toThrow('disk gone');
    target.failing = false;
    await commit.submit([{ type: 'del', key: b('k1') }]);
    expect(target.batches).toEqual([
      ['put k1=v', 'put meta/commit=1'],
      ['del k1', 'put meta/commit=3'],
    ]);
    expect(events).toEqual(['seal 1', 'durable 1', 'seal 2', 'seal 3', 'durable 3']);
  });

  it('a batch of operations submitted as distinct is written as submitted; one not distinct makes it coalesced', async () => {
    const target = recordingTarget();
    const commit = new GroupCommit(target, failure);
    // distinct (the caller's promise): written in order, nothing merged
    await Promise.all([
      commit.submitOne({ type: 'put', key: b('k1'), value: { plain: b('a') }, fresh: true }, 0, true),
      commit.submitOne({ type: 'del', key: b('k0') }, 0, true),
    ]);
    // one operation not known to be distinct: the batch is coalesced (the fresh put and its delete cancel)
    await Promise.all([
      commit.submitOne({ type: 'put', key: b('k2'), value: { plain: b('b') }, fresh: true }, 0, true),
      commit.submitOne({ type: 'put', key: b('k3'), value: { plain: b('c') }, fresh: true }, 0, true),
      commit.submitOne({ type: 'del', key: b('k2') }, 0, false),
    ]);
    expect(target.batches).toEqual([['put k1=sealed(a)', 'del k0'], ['put k3=sealed(c)']]);
    expect(commit.stats.cancelledPuts).toBe(1);
  });

  it('a fresh put deleted in the same batch writes nothing; the writes still resolve', async () => {
    const target = recordingTarget();
    const commit = new GroupCommit(target, failure);
    await Promise.all([
      commit.submit([{ type: 'put', key: b('q1'), value: { plain: b('m1') }, fresh: true }]),
      commit.submit([{ type: 'put', key: b('q2'), value: { plain: b('m2') }, fresh: true }]),
      commit.submit([{ type: 'del', key: b('q1') }]),
    ]);
    expect(target.batches).toEqual([['put q2=sealed(m2)']]);
    expect(target.sealCalls).toBe(1); // one call for the whole batch; the cancelled value never sealed
    expect(commit.stats).toEqual({ batches: 1, writes: 3, largestBatch: 3, cancelledPuts: 1 });
  });

  it('a batch whose puts are all cancelled writes nothing and resolves', async () => {
    const target = recordingTarget();
    const commit = new GroupCommit(target, failure);
    await Promise.all([commit.submit([{ type: 'put', key: b('q1'), value: { plain: b('m1') }, fresh: true }]), commit.submit([{ type: 'del', key: b('q1') }])]);
    expect(target.batches).toEqual([]);
    expect(target.sealCalls).toBe(0);
    expect(commit.stats.cancelledPuts).toBe(1);
  });

  it('a put of a key that may exist (not fresh) deleted in the same batch still writes the delete', async () => {
    const target = recordingTarget();
    const commit = new GroupCommit(target, failure);
    await Promise.all([
      commit.submit([{ type: 'put', key: b('q1'), value: { plain: b('m1') }, fresh: false }]),
      commit.submit([{ type: 'put', key: b('q2'), value: b('plain') }]),
      commit.submit([{ type: 'del', key: b('q1') }, { type: 'del', key: b('q2') }]),
    ]);
    expect(target.batches).toEqual([['del q1', 'del q2']]);
    expect(commit.stats.cancelledPuts).toBe(0);
  });

  it('fresh put, delete, put again: the last put is written', async () => {
    const target = recordingTarget();
    const commit = new GroupCommit(target, failure);
    await Promise.all([
      commit.submit([{ type: 'put', key: b('q1'), value: { plain: b('a') }, fresh: true }]),
      commit.submit([{ type: 'del', key: b('q1') }]),
      commit.submit([{ type: 'put', key: b('q1'), value: { plain: b('b') }, fresh: true }]),
    ]);
    expect(target.batches).toEqual([['put q1=sealed(b)']]);
  });

  it('queue entries are matched by queue prefix and seq; an operation without them on the same key is kept in order', async () => {
    const target = recordingTarget();
    const commit = new GroupCommit(target, failure);
    const queue = b('q/'); // one Buffer per queue, as the level store passes it
    await Promise.all([
      commit.submit([{ type: 'put', key: b('q/1'), value: { plain: b('a') }, fresh: true, queue, seq: 1 }]),
      commit.submit([{ type: 'put', key: b('q/2'), value: { plain: b('b') }, fresh: true, queue, seq: 2 }]),
      commit.submit([{ type: 'put', key: b('q/2'), value: { plain: b('c') }, fresh: false, queue, seq: 2 }]),
      commit.submit([{ type: 'del', key: b('q/1'), queue, seq: 1 }]),
      commit.submit([{ type: 'put', key: b('q/3'), value: { plain: b('d') }, fresh: true, queue, seq: 3 }]),
      commit.submit([{ type: 'del', key: b('q/3') }]), // same key, no slot: not matched, both kept
    ]);
    expect(target.batches).toEqual([['put q/2=sealed(c)', 'put q/3=sealed(d)', 'del q/3']]);
    expect(commit.stats.cancelledPuts).toBe(1);
  });

  it('writes of one batch share one promise; freed bytes are reported once, after the write', async () => {
    const target = recordingTarget();
    const freed: number[] = [];
    const commit = new GroupCommit(target, failure, (bytes) => freed.push(bytes));
    const first = commit.submit([{ type: 'del', key: b('a') }], 10);
    const second = commit.submit([{ type: 'del', key: b('b') }], 5);
    expect(second).toBe(first);
    expect(freed).toEqual([]);
    await first;
    expect(freed).toEqual([15]);
    await commit.submit([{ type: 'put', key: b('c'), value: b('v') }]);
    expect(freed).toEqual([15]); // nothing freed: not reported
  });

  it('a failed batch rejects its writes with the mapped error; later batches still run', async () => {
    const target = recordingTarget();
    target.failing = true;
    const commit = new GroupCommit(target, (e) => new Error(`mapped: ${(e as Error).message}`));
    await expect(commit.submit([{ type: 'put', key: b('a'), value: b('v') }])).rejects.toThrow('mapped: disk gone');
    target.failing = false;
    await commit.submit([{ type: 'put', key: b('b'), value: b('v') }]);
    expect(target.batches).toEqual([['put b=v']]);
  });
});

describe('GroupCommit and its target', () => {
  it('bytes freed by what finish adds are reported with the batch once it is durable', async () => {
    const written: string[][] = [];
    const freed: number[] = [];
    const target: BatchTarget = {
      begin: () =>
        recordingWrites((lines) => {
          written.push(lines);
          return Promise.resolve();
        }),
      finish: (ops, sink) => {
        for (const op of ops) if (op.type === 'del') sink.del(op.key);
        sink.del(b('extra'));
        return 40;
      },
    };
    const commit = new GroupCommit(target, failure, (bytes) => freed.push(bytes));
    await commit.submit([{ type: 'del', key: b('a') }], 2);
    expect(written).toEqual([['del a', 'del extra']]);
    expect(freed).toEqual([42]);
  });
});
