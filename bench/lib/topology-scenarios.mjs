// Scenario (l), issue 16: the local topology made by `ops create --backend local` (2 frontend
// replicas x 2 workers, 3 partitions x redundancyFactor 2): the time from `ops create` to ready (it
// returns once every member answers), and the RSS of every member at rest. Ours only.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { performance } from 'node:perf_hooks';
import { readRss, sleep, trackPid, trackTemp, untrackPid, which } from './proc.mjs';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const OPS_BIN = path.resolve(here, '..', '..', 'bin', 'ops.js');
/** How long the topology rests after create before its RSS is read. */
const REST_MS = 3000;

/** `ops ...` in the bench's OPS_HOME; resolves with stdout. */
async function ops(env, args, timeout = 120000) {
  try {
    return (await run(process.execPath, [OPS_BIN, ...args], { env, timeout })).stdout;
  } catch (e) {
    throw new Error(`ops ${args.slice(0, 2).join(' ')} failed: ${String(e.stderr ?? e.message).trim().split('\n').slice(-3).join(' | ')}`);
  }
}

/** (l): create to ready, members, RSS at rest; the topology is deleted at the end, whatever happens. */
export async function topologyCreate(_broker, _opts, _ctx) {
  if (!which('redis-server')) return { skipped: 'redis-server not on PATH (apt-get install redis-server)' };
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ops-bench-topology-'));
  trackTemp(home);
  const env = { ...process.env, OPS_HOME: home, NO_COLOR: '1' };
  const config = {
    cardinality: { backendChain: { partitions: 3, redundancyFactor: 2, workers: 1 }, frontend: { replicas: 2, workers: 2 } },
    diagnostics: { metrics: { prometheusPort: 0 }, logs: { level: 'warn' } },
  };
  const configFile = path.join(home, 'topology-broker.json');
  fs.writeFileSync(configFile, JSON.stringify(config));
  const pids = [];
  try {
    const t0 = performance.now();
    await ops(env, ['create', '--instance', 'topo', '--backend', 'local', '--broker-config-file', configFile, '--port', '0', '--secure-port', '0', '-o', 'json']);
    const createMs = performance.now() - t0;
    const status = JSON.parse(await ops(env, ['broker', 'status', '--instance', 'topo', '-o', 'json']));
    const members = status.members ?? [];
    for (const m of members) if (typeof m.pid === 'number') pids.push(m.pid);
    if (typeof status.pid === 'number') pids.push(status.pid);
    for (const pid of pids) trackPid(pid);
    await sleep(REST_MS);
    const rssOf = (pid) => (typeof pid === 'number' ? readRss(pid) ?? 0 : 0);
    const sum = (list) => Math.round(list.reduce((n, m) => n + rssOf(m.pid), 0) / 1048576);
    const frontends = members.filter((m) => m.kind === 'frontend');
    const backends = members.filter((m) => m.kind === 'backend');
    const supervisorMB = Math.round(rssOf(status.pid) / 1048576);
    const frontendsMB = sum(frontends);
    const backendMB = sum(backends);
    return {
      metrics: {
        createToReadyMs: Math.round(createMs),
        frontends: frontends.length,
        backendNodes: backends.length,
        up: members.filter((m) => m.state === 'up').length,
        rssFrontendsMB: frontendsMB,
        rssBackendMB: backendMB,
        rssSupervisorMB: supervisorMB,
        rssTotalMB: frontendsMB + backendMB + supervisorMB,
      },
      notes: [
        `ops create --backend local: ${frontends.length} frontends (2 replicas x 2 workers) and ${backends.length} redis-server nodes (3 partitions x rf 2), no persistence; RSS read ${REST_MS} ms after create returned`,
        `members: ${members.map((m) => `${m.name} ${m.role} ${Math.round(rssOf(m.pid) / 1048576)} MB`).join(', ')}; supervisor ${supervisorMB} MB (a spare frontend process, if running, is not a member and not counted)`,
      ],
    };
  } finally {
    await ops(env, ['delete', '--instance', 'topo', '--yes'], 120000).catch(() => undefined);
    for (const pid of pids) untrackPid(pid);
    fs.rmSync(home, { recursive: true, force: true });
  }
}

export const TOPOLOGY_SCENARIOS = [
  {
    id: 'l',
    title: 'local topology: ops create --backend local (2x2 frontends, 3x2 redis nodes) to ready, and RSS at rest',
    run: topologyCreate,
    ownsBroker: true,
    brokers: ['ops-broker'],
    notApplicable: 'ours only (a topology made by ops create)',
    timeoutMs: () => 300000,
  },
];
