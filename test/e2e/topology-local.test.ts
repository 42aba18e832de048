/**
 * Local topology (issue 16): `ops create --backend local` with cardinality 2 replicas × 2 workers
 * and 3 partitions × redundancyFactor 2 runs 4 frontends and 6 Redis nodes under one supervisor,
 * through the real `ops` binary. Status lists the 10 members with their roles; clients on the one
 * port reach the frontends in turn; a frontend killed with SIGKILL is back within 3 s; a master
 * killed is failed over and rejoins as a replica; in both cases a QoS 1 publisher and a persistent
 * subscriber on the one port lose no PUBACKed message (counted; duplicates reported); delete
 * leaves no process and no file.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callAdmin } from '../../src/admin/client.js';
import type { StatsResult } from '../../src/admin/wire.js';
import { isProcessAlive } from '../../src/instance/status-file.js';
import { connectClient } from '../helpers/cli-mqtt.js';
import { makeTopologyHome, remember, type StatusMember, type TopologyHome, type TopologyStatusOutput } from '../helpers/local-topology.js';
import { ackedAtLeast, startQos1Flow } from '../helpers/qos1-flow.js';
import { redisCli, waitUntil } from '../helpers/redis-cluster.js';

let home: TopologyHome;
let created: TopologyStatusOutput;
let port: number;

beforeAll(async () => {
  home = await makeTopologyHome();
  // Persistence on, subscriber queues All: a persistent session's queue is in the backend, not in its frontend's memory.
  const config = await home.config({ replicas: 2, workers: 2 }, { partitions: 3, redundancyFactor: 2 }, { persistence: { maxSize: '200M', subscriberQueue: { mode: 'All' }, encryption: { mode: 'Disabled' } } });
  const r = await home.ops(['create', '--broker-config-file', config, '--backend', 'local', '--port', '0', '--secure-port', '0', '-o', 'json']);
  if (r.exitCode !== 0) throw new Error(`ops create --backend local failed (${r.exitCode}): ${r.stderr}`);
  created = JSON.parse(r.stdout) as TopologyStatusOutput;
  remember(created);
  const insecure = created.ports.find((p) => p.listener === 'default-insecure');
  if (insecure === undefined) throw new Error('no default-insecure port');
  port = insecure.port;
}, 160_000);

afterAll(async () => {
  await home?.cleanup();
}, 90_000);

const frontendsOf = (s: TopologyStatusOutput): StatusMember[] => s.members.filter((m) => m.kind === 'frontend');
const memberNamed = (s: TopologyStatusOutput, name: string): StatusMember => {
  const m = s.members.find((x) => x.name === name);
  if (m === undefined) throw new Error(`no member ${name}`);
  return m;
};

/** Messages published through each recovery test (a few thousand: the test stays short). */
const MESSAGES = 3000;

/** The one frontend whose connected count grew between `before` and `after`. */
function servedOne(before: Map<string, number>, after: Map<string, number>): string {
  const served = [...after].filter(([name, n]) => n > (before.get(name) ?? 0)).map(([name]) => name);
  if (served.length !== 1 || served[0] === undefined) throw new Error(`cannot tell which frontend took the connection: ${served.join(',')}`);
  return served[0];
}

/** The master member that holds the slot of `frontend`'s inbox (`ib:{f:<id>}`). */
async function masterOfInbox(status: TopologyStatusOutput, frontend: StatusMember): Promise<StatusMember> {
  if (frontend.adminSocket === undefined) throw new Error(`${frontend.name} has no admin socket`);
  const id = ((await callAdmin(frontend.adminSocket, 'stats')) as StatsResult).cluster?.frontendId;
  const anyNode = status.members.find((m) => m.kind === 'backend' && m.state === 'up');
  if (id === undefined || anyNode === undefined) throw new Error('no frontend id or no node');
  const slot = Number((await redisCli(anyNode.port, 'CLUSTER', 'KEYSLOT', `ib:{f:${id}}`)).trim());
  for (const line of (await redisCli(anyNode.port, 'CLUSTER', 'NODES')).split('\n')) {
    const fields = line.trim().split(' ');
    if (!(fields[2] ?? '').includes('master')) continue;
    const owns = fields.slice(8).some((range) => {
      const [from, to] = range.split('-').map(Number);
      return from !== undefined && slot >= from && slot <= (to ?? from);
    });
    const nodePort = Number((fields[1] ?? '').split(':')[1]?.split('@')[0]);
    if (owns) return status.members.find((m) => m.kind === 'backend' && m.port === nodePort) ?? Promise.reject(new Error(`no member on port ${nodePort}`));
  }
  throw new Error(`no master owns slot ${slot}`);
}

/** Connected clients of each frontend, by name (its own admin socket's stats). */
async function connectedPerFrontend(status: TopologyStatusOutput): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const f of frontendsOf(status)) {
    if (f.adminSocket === undefined) throw new Error(`${f.name} has no admin socket`);
    const stats = (await callAdmin(f.adminSocket, 'stats')) as StatsResult;
    counts.set(f.name, stats.clients.connected);
  }
  return counts;
}

describe('ops create --backend local', () => {
  it('starts 4 frontends and 6 Redis nodes; status -o json lists all 10 members with their roles', async () => {
    const status = await home.status();
    expect(status.running).toBe(true);
    expect(status.members).toHaveLength(10);
    const roles = status.members.map((m) => m.role).sort();
    expect(roles).toEqual(['frontend', 'frontend', 'frontend', 'frontend', 'master', 'master', 'master', 'replica', 'replica', 'replica']);
    for (const m of status.members) {
      expect(m.state, m.name).toBe('up');
      expect(m.restarts).toBe(0);
      expect(m.pid !== null && isProcessAlive(m.pid), m.name).toBe(true);
      if (m.kind === 'backend') expect(m.port).toBeLessThan(32768);
      else expect(m.port).toBe(port);
    }
    expect(new Set(status.members.map((m) => m.pid)).size).toBe(10);
    expect(status.members.filter((m) => m.role === 'master').map((m) => m.slots ?? 0).reduce((a, b) => a + b, 0)).toBe(16384);
    // With persistence every node writes an AOF (without it, nothing but nodes.conf: topology-shared-backend.test.ts).
    for (const node of readdirSync(join(home.home, 'default', 'backend')).filter((n) => n.startsWith('redis-'))) {
      expect(readdirSync(join(home.home, 'default', 'backend', node)), node).toContain('aof');
    }
    // Each frontend has its own admin socket and Prometheus port.
    expect(new Set(frontendsOf(status).map((m) => m.adminSocket)).size).toBe(4);
    // The whole topology answers the instance's own admin socket (forwarded to a frontend).
    const stats = await home.ops(['broker', 'stats', '-o', 'json']);
    expect(stats.exitCode, stats.stderr).toBe(0);
    expect((JSON.parse(stats.stdout) as StatsResult).cluster?.totals?.frontends).toBe(4);
  }, 30_000);

  it('clients on the one port reach the frontends in turn', async () => {
    const status = await home.status();
    const clients: MqttClient[] = [];
    const order: string[] = [];
    try {
      let before = await connectedPerFrontend(status);
      for (let i = 0; i < 8; i++) {
        clients.push(await connectClient(port, { clientId: `turn-${i}` }));
        const after = await connectedPerFrontend(status);
        const served = [...after].filter(([name, n]) => n > (before.get(name) ?? 0)).map(([name]) => name);
        expect(served, `client ${i}`).toHaveLength(1);
        order.push(served[0] ?? '');
        before = after;
      }
      // status shows each frontend's connections (2 each) and uptime.
      const live = (await home.status()).members.filter((m) => m.kind === 'frontend') as Array<StatusMember & { connections?: number; uptimeSeconds?: number }>;
      expect(live.map((m) => m.connections)).toEqual([2, 2, 2, 2]);
      for (const m of live) expect(m.uptimeSeconds).toBeGreaterThanOrEqual(0);
    } finally {
      await Promise.all(clients.map((c) => c.endAsync()));
    }
    // Round robin: four different frontends, then the same four in the same order.
    expect(new Set(order.slice(0, 4)).size).toBe(4);
    expect(order.slice(4)).toEqual(order.slice(0, 4));
  }, 30_000);

  it('a frontend killed with SIGKILL is restarted within 3 s; a QoS 1 publisher and a persistent subscriber on it lose no PUBACKed message', async () => {
    const status = await home.status();
    let victimName = '';
    const before = await connectedPerFrontend(status);
    const flow = await startQos1Flow(port, 'fk', MESSAGES, 50, async () => {
      victimName = servedOne(before, await connectedPerFrontend(status));
    });
    try {
      const victim = memberNamed(status, victimName);
      if (victim.pid === null) throw new Error('no frontend to kill');
      const publishing = flow.publish();
      await ackedAtLeast(flow, MESSAGES / 3);
      const killedAt = Date.now();
      process.kill(victim.pid, 'SIGKILL');
      expect(flow.acked.size, 'killed mid-flow').toBeLessThan(MESSAGES);
      // The supervisor's own report (topology-status.json, what status reads): polled cheaply, so the figure is the restart's.
      let back: StatusMember | undefined;
      await waitUntil('the killed frontend to be up again', async () => {
        back = memberNamed(await home.report(), victim.name);
        return back.state === 'up' && back.pid !== victim.pid && back.restarts === 1;
      }, 20_000, 20);
      const seconds = (Date.now() - killedAt) / 1000;
      console.log(`frontend ${victim.name} back after ${seconds.toFixed(2)} s (pid ${victim.pid} -> ${back?.pid})`);
      expect(seconds).toBeLessThan(3);
      expect(memberNamed(await home.status(), victim.name)).toMatchObject({ state: 'up', restarts: 1 });
      await publishing;
      await flow.allDelivered(60_000).catch((error: unknown) => {
        for (const f of frontendsOf(status)) {
          const log = join(home.home, 'default', 'members', f.name, 'broker.log');
          const lines = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => /"level":(40|50)|took|taken|handed|gone/.test(l)) : [];
          console.info(f.name, lines.slice(-20).map((l) => l.slice(0, 300)).join('\n'));
        }
        throw error;
      });
      expect(flow.acked.size).toBe(MESSAGES);
      expect(flow.subscriberDrops(), 'the subscriber was on the killed frontend').toBeGreaterThanOrEqual(1);
      console.log(`frontend kill under load: ${flow.acked.size} PUBACKed, all received, ${flow.duplicates()} duplicates, ${flow.retries()} refused and sent again`);
      await waitUntil('the subscriber to be connected', () => Promise.resolve(flow.subscriber.connected), 10_000);
    } finally {
      await flow.end();
    }
  }, 120_000);

  it('a master killed with SIGKILL is failed over, restarted, and rejoins as a replica; a QoS 1 publisher and a persistent subscriber lose no PUBACKed message', async () => {
    const status = await home.status();
    let subscriberFrontend = '';
    const before = await connectedPerFrontend(status);
    const flow = await startQos1Flow(port, 'mk', MESSAGES, 50, async () => {
      subscriberFrontend = servedOne(before, await connectedPerFrontend(status));
    });
    try {
      // The master holding the inbox of the subscriber's frontend (every message to it goes there).
      const master = await masterOfInbox(status, memberNamed(status, subscriberFrontend));
      if (master.pid === null) throw new Error('no master');
      const publishing = flow.publish();
      await ackedAtLeast(flow, MESSAGES / 3);
      process.kill(master.pid, 'SIGKILL');
      expect(flow.acked.size, 'killed mid-flow').toBeLessThan(MESSAGES);
      await publishing;
      await waitUntil('the killed master to rejoin as a replica', async () => {
        const now = await home.status();
        const m = memberNamed(now, master.name);
        return m.state === 'up' && m.restarts === 1 && m.role === 'replica' && now.members.filter((x) => x.role === 'master').length === 3;
      }, 25_000, 200);
      await flow.allDelivered(60_000);
      expect(flow.acked.size).toBe(MESSAGES);
      console.log(`master kill under load (${master.name}): ${flow.acked.size} PUBACKed, all received, ${flow.duplicates()} duplicates, ${flow.retries()} refused and sent again`);
    } finally {
      await flow.end();
    }
  }, 120_000);

  it('broker show says cardinality applied; broker show and persist show are the same from the topology socket and every frontend; stats --members', async () => {
    const status = await home.status();
    const show = await home.ops(['broker', 'show', '-o', 'json']);
    expect(show.exitCode, show.stderr).toBe(0);
    const view = JSON.parse(show.stdout) as { id: string; cardinality: { applied: boolean; note: string } };
    expect(view.cardinality).toMatchObject({ applied: true });
    expect(view.id).toMatch(/\/instances\/default\/brokers\/default$/);
    const topologySocket = join(home.home, 'default', 'admin.sock');
    const same = (r: unknown): unknown => {
      const { appliedAt: _at, policyVersion: _v, ...rest } = r as Record<string, unknown>; // when and how often this frontend applied it: its own
      return rest;
    };
    const broker = await callAdmin(topologySocket, 'broker.get');
    const persist = same(await callAdmin(topologySocket, 'persist.get'));
    expect(persist).toMatchObject({ persistence: { subscriberQueue: { mode: 'All' } } });
    for (const f of frontendsOf(status)) {
      if (f.adminSocket === undefined) throw new Error(`${f.name} has no admin socket`);
      expect(await callAdmin(f.adminSocket, 'broker.get'), f.name).toEqual(broker);
      expect(same(await callAdmin(f.adminSocket, 'persist.get')), f.name).toEqual(persist);
    }
    // Per member: each frontend's own figures, each node's role; the default stays the cluster totals.
    const members = await home.ops(['broker', 'stats', '--members', '-o', 'json']);
    expect(members.exitCode, members.stderr).toBe(0);
    const parsed = JSON.parse(members.stdout) as { totals: { frontends: number }; members: Array<{ kind: string; role: string; stats?: { connected: number; frontendId: string } | null; memoryBytes?: number }> };
    expect(parsed.totals.frontends).toBe(4);
    expect(parsed.members).toHaveLength(10);
    const frontendStats = parsed.members.filter((m) => m.kind === 'frontend').map((m) => m.stats);
    expect(frontendStats.every((s) => s !== null && s !== undefined && typeof s.connected === 'number')).toBe(true);
    expect(new Set(frontendStats.map((s) => s?.frontendId)).size).toBe(4);
    expect(parsed.members.filter((m) => m.kind === 'backend').every((m) => (m.memoryBytes ?? 0) > 0)).toBe(true);
    const text = await home.ops(['broker', 'stats', '--members']);
    expect(text.stdout).toMatch(/^cluster totals: 4 frontends live/);
    expect(text.stdout.split('\n').filter((l) => /^ {2}(frontend|redis)-/.test(l))).toHaveLength(10);
  }, 30_000);

  it('log-level set, persist update and authz apply through the topology reach every frontend', async () => {
    const frontends = frontendsOf(await home.status());
    const sockets = frontends.map((f) => {
      if (f.adminSocket === undefined) throw new Error(`${f.name} has no admin socket`);
      return f.adminSocket;
    });
    const everywhere = (what: string, check: (socket: string) => Promise<boolean>): Promise<void> =>
      waitUntil(`${what} on every frontend`, async () => (await Promise.all(sockets.map(check))).every(Boolean), 15_000, 100);

    const level = await home.ops(['broker', 'log-level', 'set', 'debug']);
    expect(level.exitCode, level.stderr).toBe(0);
    await everywhere('log level debug', async (socket) => ((await callAdmin(socket, 'status')) as { logLevel: string }).logLevel === 'debug');

    const persist = await home.ops(['broker', 'persist', 'update', '--persist-mode', 'retain=None']);
    expect(persist.exitCode, persist.stderr).toBe(0);
    await everywhere('retain None', async (socket) => ((await callAdmin(socket, 'persist.get')) as { persistence?: { retain?: { mode?: string } } }).persistence?.retain?.mode === 'None');

    const dir = mkdtempSync(join(tmpdir(), 'ops-topology-authz-'));
    try {
      const file = join(dir, 'rules.json');
      writeFileSync(file, JSON.stringify({ properties: { authorizationPolicies: { rules: [{ principals: { usernames: ['alice'] }, brokerResources: [{ method: 'Connect' }] }] } } }));
      const authz = await home.ops(['broker', 'authz', 'apply', '--name', 'topology-rules', '--config-file', file]);
      expect(authz.exitCode, authz.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await everywhere('authorization topology-rules', async (socket) =>
      ((await callAdmin(socket, 'resource.list', { kind: 'authorization' })) as Array<{ name: string }>).some((r) => r.name === 'topology-rules'));
  }, 60_000);

  it('ops delete --yes leaves no process and no file', async () => {
    const status = await home.status();
    const pids = [status.pid ?? 0, ...status.members.map((m) => m.pid ?? 0)].filter((p) => p > 0);
    expect(pids.length).toBe(11);
    // Every child of the supervisor too (the members, and the spare frontend it keeps loaded).
    const supervisor = status.pid ?? 0;
    const children = readFileSync(`/proc/${supervisor}/task/${supervisor}/children`, 'utf8').trim().split(/\s+/).map(Number).filter((p) => p > 0);
    expect(children.length).toBeGreaterThanOrEqual(10);
    const r = await home.ops(['delete', '--yes']);
    expect(r.exitCode, r.stderr).toBe(0);
    for (const pid of [...pids, ...children]) expect(isProcessAlive(pid), `pid ${pid}`).toBe(false);
    expect(existsSync(`${home.home}/default`)).toBe(false);
  }, 60_000);
});
