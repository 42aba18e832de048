/**
 * Symbolic links in the instance folder: a `broker.log` or `data/` planted as a
 * link to a place outside the instance makes `ops broker start` refuse with INST_UNSAFE_PATH, and
 * nothing is written through the link.
 */
import { mkdir, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeOpsInstance, type OpsInstance } from '../helpers/ops-instance.js';

let h: OpsInstance;
let dir: string;
beforeAll(async () => {
  h = await makeOpsInstance('links');
  dir = join(h.home, 'links');
  const stopped = await h.ops('broker', 'stop', '--instance', 'links');
  expect(stopped.exitCode, stopped.stderr).toBe(0);
});
afterAll(async () => {
  await h.cleanup();
}, 60_000);

describe('symlinks in the instance folder', () => {
  it('refuses to start with broker.log linked to a file outside, which stays untouched', async () => {
    const outside = join(h.home, 'outside.log');
    await writeFile(outside, 'precious\n');
    await rm(join(dir, 'broker.log'));
    await symlink(outside, join(dir, 'broker.log'));
    const r = await h.ops('broker', 'start', '--instance', 'links');
    expect(r.exitCode).toBe(5);
    expect(r.stderr).toContain('INST_UNSAFE_PATH');
    expect(r.stderr).toContain(join(dir, 'broker.log'));
    expect(r.stderr).toContain('symbolic link');
    expect(await readFile(outside, 'utf8')).toBe('precious\n');
    await rm(join(dir, 'broker.log')); // the link only
  });

  it('refuses to start with data/ linked to a folder outside, and writes nothing there', async () => {
    const outside = join(h.home, 'outside-data');
    await rm(join(dir, 'data'), { recursive: true, force: true });
    await mkdir(outside);
    await symlink(outside, join(dir, 'data'));
    const r = await h.ops('broker', 'start', '--instance', 'links');
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('INST_START_FAILED');
    expect(r.stderr).toContain(`INST_UNSAFE_PATH: Refusing the instance path ${join(dir, 'data')}: it is a symbolic link`);
    expect(await readdir(outside)).toEqual([]);

    // A real data/ folder again: the broker starts.
    await rm(join(dir, 'data'));
    await rename(outside, join(dir, 'data'));
    const started = await h.ops('broker', 'start', '--instance', 'links');
    expect(started.exitCode, started.stderr).toBe(0);
  });
});
