/**
 * Local topology (issue 16), refusals: without `redis-server` on PATH, `ops create --backend local`
 * says in one line how to install it, exits 2 and creates nothing; a listener port in use is
 * refused before anything starts, leaving nothing behind.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTopologyHome, type TopologyHome } from '../helpers/local-topology.js';

let home: TopologyHome;
let holder: Server;
let heldPort: number;

beforeAll(async () => {
  home = await makeTopologyHome();
  holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const address = holder.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  heldPort = address.port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => holder?.close(() => resolve()));
  await home?.cleanup();
}, 60_000);

/** The instance folders under the home (the config files written there are not ones). */
const instances = (): string[] => readdirSync(home.home).filter((name) => !name.endsWith('.json'));

describe('ops create --backend local refusals', () => {
  it('without redis-server on PATH: one line saying how to install it, exit 2, nothing created', async () => {
    const config = await home.config({ replicas: 1, workers: 1 }, { partitions: 1, redundancyFactor: 2 });
    // An empty folder as PATH (ops itself runs on process.execPath).
    const bin = mkdtempSync(join(tmpdir(), 'ops-no-redis-'));
    const r = await home.ops(['create', '--broker-config-file', config, '--backend', 'local', '--port', '0', '--secure-port', '0'], { PATH: bin });
    rmSync(bin, { recursive: true, force: true });
    expect(r.exitCode).toBe(2);
    // The one error line, then the CLI's usual code trailer.
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^error: redis-server is not installed .*Install it with: apt-get install redis-server$/);
    expect(lines[1]).toBe('(INST_REDIS_MISSING, exit code 2)');
    expect(instances()).toEqual([]);
    expect(existsSync(`${home.home}/default`)).toBe(false);
  }, 20_000);

  it('a listener port in use: a clear error naming it, nothing left behind', async () => {
    const config = await home.config({ replicas: 1, workers: 1 }, { partitions: 1, redundancyFactor: 2 });
    const r = await home.ops(['create', '--broker-config-file', config, '--backend', 'local', '--port', String(heldPort), '--secure-port', '0']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('INST_PORT_IN_USE');
    expect(r.stderr).toContain(String(heldPort));
    expect(instances()).toEqual([]);
  }, 20_000);
});
