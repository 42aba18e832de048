/**
 * Several machines on one (issue 16): instance `a` is a local topology (`ops create --backend
 * local`, 1 × 1 frontend, 1 partition × redundancyFactor 2, no persistence); instance `b` is a
 * frontend of a's Redis nodes (`ops create --backend redis://<a's nodes> --store-key-from a`, the
 * same config file). A message published on b reaches a subscriber on a, and the other way; both
 * count each other in the cluster totals.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatsResult } from '../../src/admin/wire.js';
import { connectClient } from '../helpers/cli-mqtt.js';
import { makeTopologyHome, remember, type TopologyHome, type TopologyStatusOutput } from '../helpers/local-topology.js';
import { waitUntil } from '../helpers/redis-cluster.js';

let home: TopologyHome;
let config: string;
let portA: number;
let portB: number;
let seeds: string;

const plainPort = (s: { ports: ReadonlyArray<{ listener: string; port: number }> }): number => s.ports.find((p) => p.listener === 'default-insecure')?.port ?? 0;

beforeAll(async () => {
  home = await makeTopologyHome();
  config = await home.config({ replicas: 1, workers: 1 }, { partitions: 1, redundancyFactor: 2 });
  const a = await home.ops(['create', '--instance', 'a', '--broker-config-file', config, '--backend', 'local', '--port', '0', '--secure-port', '0', '-o', 'json']);
  if (a.exitCode !== 0) throw new Error(`ops create --backend local failed (${a.exitCode}): ${a.stderr}`);
  const created = JSON.parse(a.stdout) as TopologyStatusOutput;
  remember(created);
  portA = plainPort(created);
  seeds = created.members.filter((m) => m.kind === 'backend').map((m) => `127.0.0.1:${m.port}`).join(',');
  const b = await home.ops(['create', '--instance', 'b', '--broker-config-file', config, '--backend', `redis://${seeds}`, '--store-key-from', 'a', '--port', '0', '--secure-port', '0', '-o', 'json']);
  if (b.exitCode !== 0) throw new Error(`ops create --backend redis://${seeds} failed (${b.exitCode}): ${b.stderr}`);
  const createdB = JSON.parse(b.stdout) as { pid: number; ports: Array<{ listener: string; port: number }> };
  remember({ pid: createdB.pid, members: [] });
  portB = plainPort(createdB);
}, 160_000);

afterAll(async () => {
  // The frontend first, while the nodes it uses still run.
  await home?.ops(['delete', '--instance', 'b', '--yes']);
  await home?.cleanup();
}, 90_000);

async function delivered(fromPort: number, toPort: number, topic: string): Promise<string> {
  const sub = await connectClient(toPort, { clientId: `${topic}-sub` });
  const pub = await connectClient(fromPort, { clientId: `${topic}-pub` });
  try {
    const received = new Promise<string>((resolve) => sub.on('message', (_t, payload) => resolve(payload.toString())));
    await sub.subscribeAsync(topic, { qos: 1 });
    await pub.publishAsync(topic, 'across', { qos: 1 });
    return await received;
  } finally {
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  }
}

describe('two instances sharing one backend', () => {
  it('a message published on b reaches a subscriber on a, and the other way', async () => {
    expect(await delivered(portB, portA, 'shared/b-to-a')).toBe('across');
    expect(await delivered(portA, portB, 'shared/a-to-b')).toBe('across');
  }, 30_000);

  it('each counts the other in the cluster totals; b shows cardinality recorded, not applied', async () => {
    for (const instance of ['a', 'b']) {
      await waitUntil(`${instance} to count 2 frontends`, async () => {
        const r = await home.ops(['broker', 'stats', '--instance', instance, '-o', 'json']);
        return (JSON.parse(r.stdout) as StatsResult).cluster?.totals?.frontends === 2;
      }, 15_000, 300);
    }
    const show = await home.ops(['broker', 'show', '--instance', 'b', '-o', 'json']);
    expect((JSON.parse(show.stdout) as { cardinality: { applied: boolean; note: string } }).cardinality).toMatchObject({ applied: false, note: expect.stringContaining('one frontend of a shared backend') });
  }, 30_000);

  it('without persistence the nodes keep nothing on disk but their cluster config', () => {
    for (const node of readdirSync(join(home.home, 'a', 'backend')).filter((n) => n.startsWith('redis-'))) {
      expect(readdirSync(join(home.home, 'a', 'backend', node)).sort(), node).toEqual(['nodes.conf', 'redis.log']);
    }
  });
});
