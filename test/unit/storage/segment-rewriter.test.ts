import { afterEach, describe, expect, it, vi } from 'vitest';
import { SegmentIndex } from '../../../src/storage/level/segment-index.js';
import { SegmentRewriter, type LoadedSegment } from '../../../src/storage/level/segment-rewriter.js';

/** An index with segment 1 holding entries 1..4 of queue `q` and segment 2 holding 5..6. */
function indexWithTwoSegments(): SegmentIndex {
  const index = new SegmentIndex();
  for (let seq = 1; seq <= 4; seq++) index.place('q', seq, 1);
  for (let seq = 5; seq <= 6; seq++) index.place('q', seq, 2);
  return index;
}

function loaded(id: number): LoadedSegment {
  return { id, contents: new Map(), bytes: 100 };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('SegmentIndex.sparse', () => {
  it('names the segments whose live entries are at most the given share, oldest first; a restore can tell the real total', () => {
    const index = new SegmentIndex();
    index.loadEntry('q', 1, 7);
    index.loadEntry('q', 2, 7);
    index.loadEntry('q', 3, 3);
    expect(index.sparse(0.5)).toEqual([]); // at open only live entries are known
    index.noteTotal(7, 6);
    index.noteTotal(3, 1);
    expect(index.sparse(0.5)).toEqual([7]);
    index.remove('q', 3);
    index.remove('q', 1);
    expect(index.sparse(0.5)).toEqual([7]);
    index.remove('q', 2);
    expect(index.sparse(0.5)).toEqual([]); // emptied: gone
  });
});

describe('SegmentRewriter', () => {
  it('holds the segments it read back while a restore is reading, and hands them to a later batch', async () => {
    const index = indexWithTwoSegments();
    index.remove('q', 1);
    index.remove('q', 2);
    index.remove('q', 3);
    let busy = true;
    const taken: number[][] = [];
    const rewriter: SegmentRewriter = new SegmentRewriter(
      {
        index,
        load: (id) => Promise.resolve(loaded(id)),
        commit: () => {
          taken.push(rewriter.take().map((s) => s.id));
          return Promise.resolve();
        },
        busy: () => busy,
      },
      { maxLiveRatio: 0.5, intervalMs: 0, maxRoundBytes: 1 << 20 },
    );
    await rewriter.rewriteNow();
    expect(taken).toEqual([[]]); // busy: nothing moves
    busy = false;
    expect(rewriter.take().map((s) => s.id)).toEqual([1]);
    expect(rewriter.take()).toEqual([]);
  });

  it('on its timer, rewrites a segment only once it was sparse at two looks in a row', async () => {
    vi.useFakeTimers();
    const index = indexWithTwoSegments();
    const loads: number[] = [];
    const rewriter = new SegmentRewriter(
      {
        index,
        load: (id) => {
          loads.push(id);
          return Promise.resolve(loaded(id));
        },
        commit: () => Promise.resolve(),
        busy: () => false,
      },
      { maxLiveRatio: 0.5, intervalMs: 1000, maxRoundBytes: 1 << 20 },
    );
    rewriter.start();
    index.remove('q', 5); // segment 2: 1 of 2 live
    await vi.advanceTimersByTimeAsync(1000);
    expect(loads).toEqual([]); // first look: sparse, not yet due
    index.remove('q', 1);
    index.remove('q', 2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(loads).toEqual([2]); // segment 1 only became sparse at this look
    await vi.advanceTimersByTimeAsync(1000);
    expect(loads).toEqual([2, 1]); // no batch took segment 2 here: it waits, read once
    await rewriter.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(loads).toEqual([2, 1]);
  });
});
