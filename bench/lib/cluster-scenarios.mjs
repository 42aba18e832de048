// Cluster scenarios (issue 15): i (QoS 1 fan-in across frontends, persistent subscriber), j (i with a
// Redis master killed), k (QoS 0 fan-out with subscribers on 2 frontends). Ours: 2 `ops-broker`
// frontend processes created by the real `ops create --backend` on a Redis Cluster of 3 masters x 1
// replica (bench/lib/redis-cluster.mjs). aedes: its own cluster recipe, 2 aedes processes with
// mqemitter-redis + aedes-persistence-redis on the same kind of Redis Cluster
// (bench/servers/aedes-redis.mjs). Everything is started fresh per scenario and killed afterwards.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { performance } from 'node:perf_hooks';
import { awaitReady, startNodeScript } from './brokers.mjs';
import { RawClient, publishTemplate } from './client.mjs';
import { pidAlive, readCpuSeconds, sleep, trackPid, trackTemp, untrackPid } from './proc.mjs';
import { redisCli, roleOf, startRedisCluster, startRedisSingle, waitUntil } from './redis-cluster.mjs';
import { fanInQos1, fanOutQos0 } from './scenarios.mjs';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const benchDir = path.resolve(here, '..');
const repoDir = path.resolve(benchDir, '..');
const OPS_BIN = path.join(repoDir, 'bin', 'ops.js');

/** The frontends' Broker config: 3 partitions x rf 2 (PUBACK after WAIT 1), queues and retained persisted, encryption on (default). */
const FRONTEND_PERSISTENCE = { maxSize: '500M', subscriberQueue: { mode: 'All' }, retain: { mode: 'All' } };

/** Waits for a pid to exit (polling; detached brokers are not our children). */
async function waitGone(pid, ms) {
  const deadline = Date.now() + ms;
  while (pidAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Redis Cluster + `frontends` ops-broker processes on it (via `ops create --backend`). */
async function startOursCluster({ frontends = 2 } = {}) {
  const redis = await startRedisCluster({ masters: 3, replicas: 1 });
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ops-bench-home-'));
  trackTemp(home);
  const members = [];
  const cluster = { kind: 'ours', redis, members, stopping: false, stopped: false };
  cluster.stop = async () => {
    if (cluster.stopped) return;
    cluster.stopping = true;
    cluster.stopped = true;
    for (const m of members) {
      try {
        process.kill(m.pid, 'SIGTERM');
      } catch {}
    }
    for (const m of members) {
      if (!(await waitGone(m.pid, 5000))) {
        try {
          process.kill(m.pid, 'SIGKILL');
        } catch {}
        await waitGone(m.pid, 2000);
      }
      untrackPid(m.pid);
    }
    await redis.stop();
    fs.rmSync(home, { recursive: true, force: true });
  };
  try {
    const backend = `redis://${redis.seeds.join(',')}`;
    const config = {
      cardinality: {
        backendChain: { partitions: 3, redundancyFactor: 2, workers: 1 },
        frontend: { replicas: frontends, workers: 1 },
      },
      diagnostics: { metrics: { prometheusPort: 0 }, logs: { level: 'warn' } },
      persistence: FRONTEND_PERSISTENCE,
    };
    const configFile = path.join(home, 'frontend-broker.json');
    fs.writeFileSync(configFile, JSON.stringify(config));
    const env = { ...process.env, OPS_HOME: home, NO_COLOR: '1', OPS_START_TIMEOUT_MS: '30000' };
    // BENCH_FRONTEND_NODE_OPTIONS: NODE_OPTIONS of the frontends (and of the `ops` CLI that starts them), e.g.
    // `--import /path/to/profiler.mjs` (--cpu-prof is not allowed in NODE_OPTIONS).
    if (process.env.BENCH_FRONTEND_NODE_OPTIONS) env.NODE_OPTIONS = process.env.BENCH_FRONTEND_NODE_OPTIONS;
    for (let i = 1; i <= frontends; i++) {
      const name = `f${i}`;
      const keyFrom = i === 1 ? [] : ['--store-key-from', 'f1'];
      const args = [OPS_BIN, 'create', '--instance', name, '--port', '0', '--secure-port', '0', '--broker-config-file', configFile, '--backend', backend, ...keyFrom, '-o', 'json'];
      let out;
      try {
        out = await run(process.execPath, args, { env, timeout: 60000 });
      } catch (e) {
        throw new Error(`ops create ${name} failed: ${String(e.stderr ?? e.message).trim().split('\n').slice(-3).join(' | ')}`);
      }
      const created = JSON.parse(out.stdout);
      trackPid(created.pid);
      const port = created.ports.find((p) => p.listener === 'default-insecure')?.port;
      members.push({ name, pid: created.pid, port });
      if (port === undefined) throw new Error(`ops create ${name}: no default-insecure port in ${out.stdout.slice(0, 300)}`);
    }
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  cluster.pids = () => [...members.map((m) => m.pid).filter(pidAlive), ...redis.pids()];
  return cluster;
}

/** Redis Cluster + `members` aedes processes with mqemitter-redis and aedes-persistence-redis. */
async function startAedesCluster({ members: n = 2 } = {}) {
  // Default: one plain Redis. BENCH_AEDES_REDIS=cluster: the Redis Cluster of ours (3 x 1); both
  // libraries accept one (ioredis Cluster), but on this load it loses most QoS 1 messages (bench/README.md).
  const single = process.env.BENCH_AEDES_REDIS !== 'cluster';
  const redis = single ? await startRedisSingle() : await startRedisCluster({ masters: 3, replicas: 1 });
  const members = [];
  const cluster = { kind: 'aedes', redis, members, stopping: false, stopped: false };
  cluster.stop = async () => {
    if (cluster.stopped) return;
    cluster.stopping = true;
    cluster.stopped = true;
    await Promise.all(members.map((m) => m.bp.stop(3000)));
    await redis.stop();
  };
  try {
    for (let i = 1; i <= n; i++) {
      const bp = startNodeScript(`aedes-redis-${i}`, path.join(benchDir, 'servers', 'aedes-redis.mjs'), {
        BENCH_REDIS_SEEDS: redis.seeds.join(','),
        BENCH_REDIS_CLUSTER: single ? '0' : '1',
      });
      members.push({ name: `a${i}`, bp, pid: bp.pid, port: null });
      await awaitReady(bp, bp.waitPort(20000));
      members[i - 1].port = bp.port;
    }
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  cluster.pids = () => [...members.map((m) => m.pid).filter(pidAlive), ...redis.pids()];
  return cluster;
}

/**
 * What the single-broker scenario code needs of a "broker process": the first member's pid (its CPU is
 * the `broker` figure of the CPU lines), and `exited`, which resolves when any member dies on its own.
 */
function compositeProcess(cluster) {
  let timer;
  const exited = new Promise((resolve) => {
    timer = setInterval(() => {
      if (cluster.stopping) return;
      const gone = cluster.members.find((m) => !pidAlive(m.pid));
      if (gone) {
        clearInterval(timer);
        resolve({ code: null, signal: `member ${gone.name} (pid ${gone.pid}) gone` });
      }
    }, 200);
    timer.unref();
  });
  return {
    pid: cluster.members[0].pid,
    port: cluster.members[0].port,
    exited,
    get stopping() {
      return cluster.stopping;
    },
    supportsControl: false,
    dispose: () => clearInterval(timer),
  };
}

/** CPU seconds of every process of the cluster (frontends/aedes members + redis-servers), per pid. */
function cpuByPid(cluster) {
  const out = {};
  for (const pid of cluster.pids()) out[pid] = readCpuSeconds(pid);
  return out;
}

/** Each process's share of one core over the window, by name (f1, f2 / a1, a2, redis:<port>). */
function cpuShares(cluster, window) {
  if (!window?.s0 || !window?.s1) return null;
  const names = new Map(cluster.members.map((m) => [String(m.pid), m.name]));
  for (const [port, pid] of cluster.redis.pidByPort()) names.set(String(pid), `redis:${port}`);
  const out = {};
  for (const [pid, c1] of Object.entries(window.s1)) {
    const c0 = window.s0[pid];
    if (typeof c0 === 'number' && typeof c1 === 'number') out[names.get(pid) ?? pid] = Math.round(((c1 - c0) / window.secs) * 1000) / 10;
  }
  return out;
}

/** µs of CPU of all the cluster's processes per message of the window (pids alive at both ends). */
function cpuUsPerMsg(window) {
  if (!window?.s0 || !window?.s1 || !(window.windowReceived > 0)) return null;
  let secs = 0;
  for (const [pid, c1] of Object.entries(window.s1)) {
    const c0 = window.s0[pid];
    if (typeof c0 === 'number' && typeof c1 === 'number') secs += c1 - c0;
  }
  return {
    usPerMsg: Math.round(((secs * 1e6) / window.windowReceived) * 10) / 10,
    // QoS 1 (i): per message PUBACKed in the window (more than delivered while a backlog builds up).
    usPerAcked: window.windowAcked > 0 ? Math.round(((secs * 1e6) / window.windowAcked) * 10) / 10 : null,
    cpuPct: Math.round((secs / window.secs) * 1000) / 10,
  };
}

/** `INFO commandstats` calls per command, summed over the masters now (`cmdstat_xadd:calls=N,...`). */
async function commandCalls(cluster) {
  const out = {};
  for (const port of await cluster.redis.masters()) {
    const text = await redisCli(port, 'INFO', 'commandstats').catch(() => '');
    for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]] = (out[m[1]] ?? 0) + Number(m[2]);
  }
  return out;
}

/** Redis commands on the masters per message delivered, the busiest first (`exec` counts pipelines of MULTI/EXEC, `wait` the WAITs). */
function perMessage(before, after, messages) {
  const rows = [];
  for (const [cmd, n] of Object.entries(after)) {
    const d = n - (before[cmd] ?? 0);
    if (d > 0 && messages > 0) rows.push([cmd, Math.round((d / messages) * 1000) / 1000]);
  }
  rows.sort((x, y) => y[1] - x[1]);
  return Object.fromEntries(rows.filter(([cmd]) => !['info', 'ping', 'cluster|info', 'cluster|shards', 'cluster|slots', 'cluster'].includes(cmd)).slice(0, 12));
}

/** Sends QoS 0 probes from a client on `pubPort` until the subscriber `sub` gets one (routes are learnt asynchronously). */
function probeRoute(pubPort, tag) {
  return async (sub) => {
    let got = false;
    sub.onPublish = (buf, h) => {
      if (((h >> 1) & 3) === 0) got = true;
    };
    const probe = new RawClient({ port: pubPort, clientId: `bench-${tag}-probe` });
    await probe.connect();
    const bytes = publishTemplate(`bench/${tag}/probe`, Buffer.from('probe'), 0).bytes;
    const deadline = Date.now() + 30000;
    try {
      while (!got) {
        if (Date.now() > deadline) throw new Error('no route from the publishers\' frontend to the subscriber within 30 s');
        probe.sock.write(bytes);
        await sleep(50);
      }
    } finally {
      await probe.close(1000).catch(() => probe.destroy());
    }
  };
}

async function startCluster(broker) {
  return broker.kind === 'ops-broker' ? startOursCluster() : startAedesCluster();
}

function describeCluster(cluster) {
  const who = cluster.kind === 'ours' ? 'ops-broker frontends' : 'aedes processes (mqemitter-redis + aedes-persistence-redis)';
  const on = cluster.redis.single ? 'one plain Redis' : 'a Redis Cluster of 3 masters x 1 replica';
  return `2 ${who} (${cluster.members.map((m) => `${m.name} :${m.port}`).join(', ')}) on ${on} (${cluster.redis.seeds.join(', ')})`;
}

/** Starts the cluster of `broker`, runs `body(cluster, proc)`, stops everything. */
async function withCluster(broker, ctx, body) {
  const cluster = await startCluster(broker);
  ctx.started.push({
    get exitInfo() {
      return cluster.stopped ? {} : null;
    },
    stop: () => cluster.stop(),
  });
  const proc = compositeProcess(cluster);
  try {
    const r = await body(cluster, proc);
    (r.notes ??= []).unshift(describeCluster(cluster));
    return r;
  } finally {
    proc.dispose();
    await cluster.stop();
  }
}

/** (i) QoS 1 fan-in 10 -> 1, publishers on member 1, the persistent subscriber on member 2. */
export async function clusterFanInQos1(broker, opts, ctx) {
  return withCluster(broker, ctx, async (cluster, proc) => {
    const [a, b] = cluster.members;
    const before = await commandCalls(cluster);
    const r = await fanInQos1(proc, {
      ...opts,
      tag: 'i',
      persistentSubscriber: true,
      subPort: b.port,
      pubPort: a.port,
      probe: probeRoute(a.port, 'i'),
      snapshotExtra: () => cpuByPid(cluster),
    });
    const cpu = cpuUsPerMsg(r.window);
    if (cpu) {
      r.metrics.allProcessesCpuUsPerMsg = cpu.usPerMsg;
      r.metrics.allProcessesCpuPct = cpu.cpuPct;
      if (r.window.windowAcked !== undefined) {
        r.metrics.allProcessesCpuUsPerAcked = cpu.usPerAcked;
        r.metrics.ackedPerSec = Math.round(r.window.windowAcked / r.window.secs);
        r.notes.push(`publishers PUBACKed ${r.metrics.ackedPerSec.toLocaleString('en-US')} msg/s in the window (the subscriber got ${r.metrics.msgPerSec.toLocaleString('en-US')}/s); all processes' CPU per PUBACKed message ${cpu.usPerAcked} µs`);
      }
      const shares = cpuShares(cluster, r.window);
      r.cpuByProcess = shares;
      r.notes.push(`CPU over the window, % of one core: ${Object.entries(shares).map(([n, v]) => `${n} ${v}`).join(', ')}`);
    }
    // Where the time goes: Redis commands per message on the masters over the whole run (warm-up, window, drain).
    const calls = perMessage(before, await commandCalls(cluster), r.metrics.receivedTotal);
    r.metrics.redisCallsPerMsg = calls;
    r.notes.push(`Redis commands on the masters per message delivered (whole run): ${Object.entries(calls).map(([c, n]) => `${c} ${n}`).join(', ')}`);
    return r;
  });
}

/** (j) (i) with the busiest Redis master killed (`kill -9`) 5 s after the load started. */
export async function clusterFanInMasterKill(broker, opts, ctx) {
  return withCluster(broker, ctx, async (cluster, proc) => {
    const [a, b] = cluster.members;
    const durationMs = Math.max(opts.durationMs, 10000);
    const killAfterLoadMs = 5000;
    let kill = null;
    const killed = {};
    const onWindowStart = () => {
      // The window starts after the warm-up; the load started warmupMs earlier.
      kill = (async () => {
        await sleep(Math.max(0, killAfterLoadMs - opts.warmupMs));
        // The busiest master (the one holding the hot queue/inbox streams).
        let best = null;
        killed.mastersBefore = await cluster.redis.masters();
        for (const port of killed.mastersBefore) {
          const info = await redisCli(port, 'INFO', 'stats').catch(() => '');
          const ops = Number(/instantaneous_ops_per_sec:(\d+)/.exec(info)?.[1] ?? 0);
          if (best === null || ops > best.ops) best = { port, ops };
        }
        const t0 = performance.now();
        await cluster.redis.killNode(best.port);
        Object.assign(killed, { port: best.port, opsPerSec: best.ops, at: t0 });
        const others = cluster.redis.ports.filter((p) => p !== best.port);
        await waitUntil('a replica to take over the killed master\'s slots', async () => {
          const info = await redisCli(others[0], 'CLUSTER', 'INFO');
          return /cluster_state:ok/.test(info);
        }, 30000, 100).then(
          () => (killed.failoverMs = Math.round(performance.now() - t0)),
          () => (killed.failoverMs = null),
        );
        // The promoted replica has no replica of its own: a durable write there (WAIT 1) cannot be
        // acknowledged until a replica is back (degraded mode, issue 15, would acknowledge after a bounded
        // WAIT). Like a supervisor would, start the killed node again: it rejoins as the new master's replica.
        const newMaster = await (async () => {
          const deadline = Date.now() + 30000;
          while (Date.now() < deadline) {
            for (const p of others) if ((await roleOf(p)) === 'master' && !killed.mastersBefore.includes(p)) return p;
            await sleep(100);
          }
          return null;
        })();
        killed.newMaster = newMaster;
        await cluster.redis.restartNode(best.port);
        await waitUntil('the restarted node to be a replica in sync', async () => {
          const info = await redisCli(best.port, 'INFO', 'replication');
          return /role:slave/.test(info) && /master_link_status:up/.test(info);
        }, 30000, 100).then(
          () => (killed.rejoinedMs = Math.round(performance.now() - t0)),
          () => (killed.rejoinedMs = null),
        );
      })();
    };
    const r = await fanInQos1(proc, {
      ...opts,
      durationMs,
      tag: 'j',
      persistentSubscriber: true,
      subPort: b.port,
      pubPort: a.port,
      probe: probeRoute(a.port, 'j'),
      exactLoss: true,
      reconnect: true,
      onWindowStart,
    });
    await kill;
    r.metrics.killedMasterPort = killed.port ?? null;
    r.metrics.failoverMs = killed.failoverMs ?? null;
    r.metrics.rejoinedMs = killed.rejoinedMs ?? null;
    r.notes.push(`publishers: ${r.metrics.reconnects} reconnects, ${r.metrics.abandoned} PUBLISHes in flight on lost connections abandoned (never PUBACKed, QoS 1 promises nothing for them; ${r.metrics.unackedReceived} of the never-PUBACKed arrived anyway)`);
    if (killed.port) r.notes.push(`kill -9 of the master on port ${killed.port} (${killed.opsPerSec} ops/s, the busiest) ${killAfterLoadMs / 1000} s after the load started; cluster_state ok again after ${killed.failoverMs ?? '?'} ms, replica ${killed.newMaster ?? '?'} promoted; the killed node restarted and back in sync as its replica ${killed.rejoinedMs ?? '?'} ms after the kill`);
    else r.errors.push('no master was killed');
    return r;
  });
}

/** (k) QoS 0 fan-out 1 -> 100, subscribers alternately on the two members, the publisher on member 1. */
export async function clusterFanOutQos0(broker, opts, ctx) {
  return withCluster(broker, ctx, async (cluster, proc) => {
    const [a, b] = cluster.members;
    const r = await fanOutQos0(proc, { ...opts, subPorts: [a.port, b.port], pubPort: a.port, snapshotExtra: () => cpuByPid(cluster) });
    const cpu = cpuUsPerMsg(r.window);
    if (cpu) {
      r.metrics.allProcessesCpuUsPerMsg = cpu.usPerMsg;
      r.metrics.allProcessesCpuPct = cpu.cpuPct;
      if (r.window.windowAcked !== undefined) {
        r.metrics.allProcessesCpuUsPerAcked = cpu.usPerAcked;
        r.metrics.ackedPerSec = Math.round(r.window.windowAcked / r.window.secs);
        r.notes.push(`publishers PUBACKed ${r.metrics.ackedPerSec.toLocaleString('en-US')} msg/s in the window (the subscriber got ${r.metrics.msgPerSec.toLocaleString('en-US')}/s); all processes' CPU per PUBACKed message ${cpu.usPerAcked} µs`);
      }
      const shares = cpuShares(cluster, r.window);
      r.cpuByProcess = shares;
      r.notes.push(`CPU over the window, % of one core: ${Object.entries(shares).map(([n, v]) => `${n} ${v}`).join(', ')}`);
    }
    return r;
  });
}

// j may wait up to 90 s for its backlog after the load.
const clusterTimeout = (o) => 3 * (o.warmupMs + Math.max(o.durationMs, 10000)) + 180000;

export const CLUSTER_SCENARIOS = [
  {
    id: 'i',
    title: 'cluster: QoS 1 fan-in 10->1 across 2 members, persistent subscriber, 3 Redis masters x 1 replica',
    run: clusterFanInQos1,
    ownsBroker: true,
    brokers: ['ops-broker', 'aedes'],
    notApplicable: 'no cluster mode of mosquitto in the bench',
    timeoutMs: clusterTimeout,
  },
  {
    id: 'j',
    title: 'cluster: (i) with a Redis master killed (kill -9) 5 s into the load',
    run: clusterFanInMasterKill,
    ownsBroker: true,
    brokers: ['ops-broker'],
    notApplicable: 'ours only: aedes runs on one plain Redis here (on the Redis Cluster it loses messages without any kill), whose kill is a total outage',
    timeoutMs: clusterTimeout,
  },
  {
    id: 'k',
    title: 'cluster: QoS 0 fan-out 1->100, subscribers on 2 members',
    run: clusterFanOutQos0,
    ownsBroker: true,
    brokers: ['ops-broker', 'aedes'],
    notApplicable: 'no cluster mode of mosquitto in the bench',
    timeoutMs: clusterTimeout,
  },
];
