/**
 * Local topology (issue 16), lifecycle through the real `ops` binary on a small topology (1 × 2
 * frontends, 1 partition × redundancyFactor 2) with persistence: the nodes write an AOF; `ops
 * broker stop` stops every member and `start` brings them all back on the same ports, with a
 * retained message kept across; `ops broker run` runs the supervisor in the foreground and SIGTERM
 * stops everything.
 */
import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../src/instance/status-file.js';
import { OPS_BIN } from '../helpers/cli-ops.js';
import { connectClient } from '../helpers/cli-mqtt.js';
import { makeTopologyHome, remember, type TopologyHome, type TopologyStatusOutput } from '../helpers/local-topology.js';
import { waitUntil } from '../helpers/redis-cluster.js';

let home: TopologyHome;
let port: number;

beforeAll(async () => {
  home = await makeTopologyHome();
  const config = join(home.home, 'persistent.json');
  await writeFile(
    config,
    JSON.stringify({
      cardinality: { frontend: { replicas: 1, workers: 2 }, backendChain: { partitions: 1, redundancyFactor: 2, workers: 1 } },
      persistence: { maxSize: '200M', retain: { mode: 'All' }, encryption: { mode: 'Disabled' } },
    }),
  );
  const r = await home.ops(['create', '--broker-config-file', config, '--backend', 'local', '--port', '0', '--secure-port', '0', '-o', 'json']);
  if (r.exitCode !== 0) throw new Error(`ops create --backend local failed (${r.exitCode}): ${r.stderr}`);
  const created = JSON.parse(r.stdout) as TopologyStatusOutput;
  remember(created);
  port = created.ports.find((p) => p.listener === 'default-insecure')?.port ?? 0;
}, 160_000);

afterAll(async () => {
  await home?.cleanup();
}, 90_000);

const pidsOf = (s: TopologyStatusOutput): number[] => [s.pid ?? 0, ...s.members.map((m) => m.pid ?? 0)].filter((p) => p > 0);

describe('local topology lifecycle', () => {
  it('with persistence the nodes write an AOF', () => {
    for (const node of ['redis-0', 'redis-1']) expect(existsSync(join(home.home, 'default', 'backend', node, 'aof')), node).toBe(true);
  });

  it('ops broker stop stops every member; start brings them back on the same ports, data kept', async () => {
    const pub = await connectClient(port, { clientId: 'retainer' });
    await pub.publishAsync('lifecycle/kept', 'still here', { qos: 1, retain: true });
    await pub.endAsync();
    const before = await home.status();
    expect(before.members.filter((m) => m.state === 'up')).toHaveLength(4);
    const stop = await home.ops(['broker', 'stop']);
    expect(stop.exitCode, stop.stderr).toBe(0);
    for (const pid of pidsOf(before)) expect(isProcessAlive(pid), `pid ${pid}`).toBe(false);
    const stopped = await home.status();
    expect(stopped.running).toBe(false);
    expect(stopped.members.map((m) => m.state)).toEqual(['down', 'down', 'down', 'down']);
    expect(existsSync(join(home.home, 'default', 'broker.pid'))).toBe(false);

    const start = await home.ops(['broker', 'start', '-o', 'json']);
    expect(start.exitCode, start.stderr).toBe(0);
    const after = await home.status();
    expect(after.members.filter((m) => m.state === 'up')).toHaveLength(4);
    expect(after.members.filter((m) => m.kind === 'backend').map((m) => m.port)).toEqual(before.members.filter((m) => m.kind === 'backend').map((m) => m.port));
    const sub = await connectClient(port, { clientId: 'reader' });
    try {
      const got = new Promise<string>((resolve) => sub.on('message', (_t, m) => resolve(m.toString())));
      await sub.subscribeAsync('lifecycle/kept', { qos: 1 });
      expect(await got).toBe('still here');
    } finally {
      await sub.endAsync();
    }
  }, 90_000);

  it('ops broker run runs the topology in the foreground; SIGTERM stops every member', async () => {
    const stop = await home.ops(['broker', 'stop']);
    expect(stop.exitCode, stop.stderr).toBe(0);
    const run = execa(process.execPath, [OPS_BIN, 'broker', 'run'], { env: { OPS_HOME: home.home, NO_COLOR: '1' }, reject: false, stdin: 'ignore' });
    let status: TopologyStatusOutput | undefined;
    try {
      await waitUntil('the foreground topology to run', async () => {
        status = await home.status();
        return status.running && status.members.every((m) => m.state === 'up');
      }, 60_000, 300);
    } finally {
      run.kill('SIGTERM');
    }
    const result = await run;
    expect(result.exitCode).toBe(0);
    for (const pid of pidsOf(status ?? { members: [], running: false, ports: [] })) expect(isProcessAlive(pid), `pid ${pid}`).toBe(false);
    expect(readdirSync(join(home.home, 'default')).includes('broker.pid')).toBe(false);
  }, 90_000);
});
