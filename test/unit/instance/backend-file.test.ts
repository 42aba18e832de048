import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseBackendAddress } from '../../../src/config/backend-address.js';
import { readBackendFile, writeBackendFile } from '../../../src/instance/backend-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ops-backend-file-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('backend.json', () => {
  it('is written once, read-only, and read back', async () => {
    const path = join(dir, 'backend.json');
    const backend = parseBackendAddress('redis://a:7000,[::1]:7001');
    expect(await writeBackendFile(path, backend)).toBe(true);
    expect((await stat(path)).mode & 0o777).toBe(0o444);
    expect(await readBackendFile(path)).toEqual(backend);
    expect(await writeBackendFile(path, parseBackendAddress('redis://b:1'))).toBe(false);
    expect(await readBackendFile(path)).toEqual(backend);
  });

  it('is absent for a standalone instance', async () => {
    expect(await readBackendFile(join(dir, 'backend.json'))).toBeUndefined();
  });

  it.each([
    ['not JSON', '{'],
    ['another format', JSON.stringify({ version: 2, kind: 'redis-cluster', address: 'redis://a:1' })],
    ['another kind', JSON.stringify({ version: 1, kind: 'nats', address: 'redis://a:1' })],
    ['a bad address', JSON.stringify({ version: 1, kind: 'redis-cluster', address: 'redis://a' })],
  ])('refuses %s (INST_CORRUPT)', async (_what, text) => {
    const path = join(dir, 'backend.json');
    await writeFile(path, text);
    await expect(readBackendFile(path)).rejects.toMatchObject({ code: 'INST_CORRUPT' });
  });
});
