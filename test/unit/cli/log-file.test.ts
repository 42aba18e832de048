import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LineSplitter, MAX_LINE_BYTES, readLinesFrom, startOfLastLines } from '../../../src/cli/lib/log-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'log-file-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The lines from the last `n` matching ones on, as the command prints them. */
async function lastLines(content: string, n: number, matches: (l: string) => boolean = () => true): Promise<string[]> {
  const path = join(dir, 'broker.log');
  await writeFile(path, content);
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const start = await startOfLastLines(handle, size, n, matches);
    const lines: string[] = [];
    const splitter = new LineSplitter();
    await readLinesFrom(handle, start, splitter, (l) => lines.push(l));
    splitter.flush((l) => lines.push(l));
    return lines;
  } finally {
    await handle.close();
  }
}

describe('log file reading', () => {
  it('finds the last N lines across chunk boundaries (a log larger than one read)', async () => {
    const all = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'x'.repeat(i % 97)}`);
    expect(await lastLines(`${all.join('\n')}\n`, 3)).toEqual(all.slice(-3));
    expect(await lastLines(`${all.join('\n')}\n`, 1200)).toEqual(all.slice(-1200));
    expect(await lastLines(all.join('\n'), 2)).toEqual(all.slice(-2)); // no final newline
    expect(await lastLines('a\nb\n', 10)).toEqual(['a', 'b']);
    expect(await lastLines('a\nb\n', 0)).toEqual([]);
  });

  it('counts only matching lines for the tail', async () => {
    const all = Array.from({ length: 3000 }, (_, i) => (i % 10 === 0 ? `warn ${i}` : `info ${i}`));
    const lines = await lastLines(`${all.join('\n')}\n`, 2, (l) => l.startsWith('warn'));
    expect(lines.filter((l) => l.startsWith('warn'))).toEqual(['warn 2980', 'warn 2990']);
    expect(lines[0]).toBe('warn 2980');
  });

  it('cuts a line longer than the limit instead of holding it whole', () => {
    const splitter = new LineSplitter();
    const lines: string[] = [];
    const huge = Buffer.alloc(MAX_LINE_BYTES + 4096, 0x61);
    splitter.push(huge, (l) => lines.push(l));
    expect(splitter.pending).toBe(MAX_LINE_BYTES);
    splitter.push(Buffer.from('tail\nnext\n'), (l) => lines.push(l));
    expect(lines.map((l) => l.length)).toEqual([MAX_LINE_BYTES, 4]);
    expect(lines[1]).toBe('next');
  });

  it('keeps a line split between reads, and multi-byte characters whole', () => {
    const splitter = new LineSplitter();
    const lines: string[] = [];
    const bytes = Buffer.from('héllo\r\nwörld\n');
    splitter.push(bytes.subarray(0, 2), (l) => lines.push(l)); // splits the é
    splitter.push(bytes.subarray(2), (l) => lines.push(l));
    expect(lines).toEqual(['héllo', 'wörld']);
  });
});
