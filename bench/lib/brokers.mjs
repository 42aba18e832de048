// Starting and stopping the brokers under test, each in its own process.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spawnTracked, trackTemp, sleep, which } from './proc.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const benchDir = path.resolve(here, '..');
const repoDir = path.resolve(benchDir, '..');

const TAIL = 16 * 1024;

export async function freePort() {
  const srv = net.createServer();
  await new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

async function waitForTcp(port, timeoutMs, isDead) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (isDead()) throw new Error('process exited before listening');
    const ok = await new Promise((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(20);
  }
  throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/**
 * A running broker child. `port`, `pid`, `stderrTail`, `exitInfo`,
 * `control(cmd)` (Node brokers only), `stop()`.
 */
class BrokerProcess {
  constructor(name, child) {
    this.name = name;
    this.child = child;
    this.pid = child.pid;
    this.port = null;
    this.stderrTail = '';
    this.stdoutTail = '';
    this.exitInfo = null;
    this.readyInfo = null;
    this.stopping = false;
    this._nextId = 1;
    this._pending = new Map();
    this._lineBuf = '';
    this._portWaiters = [];
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        for (const [, p] of this._pending) p.reject(new Error(`broker exited (code ${code}, signal ${signal})`));
        this._pending.clear();
        for (const w of this._portWaiters) w.reject(new Error(`broker exited (code ${code}, signal ${signal}) before listening`));
        this._portWaiters = [];
        resolve(this.exitInfo);
      });
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => {
      this.stderrTail = (this.stderrTail + d).slice(-TAIL);
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => this._onStdout(d));
    child.stdin.on('error', () => {});
  }

  _onStdout(d) {
    this._lineBuf += d;
    let idx;
    while ((idx = this._lineBuf.indexOf('\n')) >= 0) {
      const line = this._lineBuf.slice(0, idx);
      this._lineBuf = this._lineBuf.slice(idx + 1);
      let msg = null;
      try {
        msg = JSON.parse(line);
      } catch {}
      if (msg && typeof msg === 'object' && typeof msg.port === 'number' && this.port === null) {
        this.port = msg.port;
        this.readyInfo = msg;
        for (const w of this._portWaiters) w.resolve(msg.port);
        this._portWaiters = [];
      } else if (msg && typeof msg === 'object' && typeof msg.id === 'number' && this._pending.has(msg.id)) {
        const p = this._pending.get(msg.id);
        this._pending.delete(msg.id);
        if (msg.error) p.reject(new Error(msg.error));
        else p.resolve(msg.result);
      } else {
        this.stdoutTail = (this.stdoutTail + line + '\n').slice(-TAIL);
      }
    }
  }

  waitPort(timeoutMs) {
    if (this.port !== null) return Promise.resolve(this.port);
    if (this.exitInfo) return Promise.reject(new Error(`broker exited (code ${this.exitInfo.code})`));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no {"port":N} line within ${timeoutMs} ms`)), timeoutMs);
      this._portWaiters.push({
        resolve: (v) => (clearTimeout(t), resolve(v)),
        reject: (e) => (clearTimeout(t), reject(e)),
      });
    });
  }

  get supportsControl() {
    return this.name !== 'mosquitto';
  }

  /** Sends a control command to a Node broker script; resolves to its result (or null if unsupported / timed out). */
  async control(cmd, timeoutMs = 5000) {
    if (!this.supportsControl || this.exitInfo) return null;
    const id = this._nextId++;
    const p = new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this._pending.delete(id);
        reject(new Error(`control ${cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this._pending.set(id, {
        resolve: (v) => (clearTimeout(t), resolve(v)),
        reject: (e) => (clearTimeout(t), reject(e)),
      });
    });
    this.child.stdin.write(JSON.stringify({ id, cmd }) + '\n');
    return p;
  }

  /** SIGTERM, then SIGKILL after graceMs. Returns {ms, forced, exitInfo}. */
  async stop(graceMs = 5000) {
    this.stopping = true;
    const t0 = Date.now();
    if (this.exitInfo) return { ms: 0, forced: false, alreadyExited: true, exitInfo: this.exitInfo };
    this.child.kill('SIGTERM');
    const res = await Promise.race([this.exited, sleep(graceMs).then(() => null)]);
    if (res) return { ms: Date.now() - t0, forced: false, exitInfo: res };
    this.child.kill('SIGKILL');
    const info = await Promise.race([this.exited, sleep(2000).then(() => null)]);
    return { ms: Date.now() - t0, forced: true, exitInfo: info };
  }
}

export function startNodeScript(name, script, env = {}) {
  // BENCH_NODE_ARGS: extra node flags for the Node broker processes (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
  const extraArgs = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawnTracked(process.execPath, ['--expose-gc', ...extraArgs, script], { cwd: repoDir, env: { ...process.env, ...env } });
  return new BrokerProcess(name, child);
}

/** Waits for the port; on failure kills the child and puts its stderr into the error. */
export async function awaitReady(bp, ready) {
  try {
    await ready;
    return bp;
  } catch (e) {
    if (!bp.exitInfo) await bp.stop(2000);
    else await sleep(50); // let the last stderr arrive
    const lines = bp.stderrTail.trim().split('\n').filter((l) => l.trim());
    const firstError = lines.find((l) => /Error|error:/.test(l));
    const tail = [...new Set([firstError, ...lines.slice(-3)].filter(Boolean))].map((l) => l.trim()).join(' | ');
    throw new Error(`${e.message}${tail ? ` — stderr: ${tail}` : ''}`);
  }
}

/** Short commit hash of the git checkout at dir, or null (not a checkout, git missing). */
function gitShortHash(dir) {
  try {
    return execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || null;
  } catch {
    return null;
  }
}

/** True for the brokers that are builds of ops-broker (ours and the baseline): same scripts, options and scenarios. */
export function isOpsBroker(broker) {
  return broker.kind === 'ops-broker';
}

/**
 * An ops-broker build as a broker definition. `checkoutDir` holds its `dist/`; `showCommit` adds
 * the checkout's short commit hash to the version line (set when a baseline is compared).
 */
function opsBrokerDefinition({ name, label, checkoutDir, showCommit, baseline = false }) {
  const distDir = path.join(checkoutDir, 'dist');
  return {
    name,
    kind: 'ops-broker',
    label,
    /** The build compared against (BENCH_BASELINE): figures of other software (redis in g) are measured with ours only. */
    baseline,
    available() {
      const dist = path.join(distDir, 'index.js');
      if (!fs.existsSync(dist)) return `${checkoutDir === repoDir ? 'dist/index.js' : dist} not found (run \`npm run build\`${checkoutDir === repoDir ? '' : ' there'})`;
      // dist/ is what runs: say when it was built (a stale build measures old code).
      const commit = showCommit ? gitShortHash(checkoutDir) : null;
      this.label = commit ? `${label} ${commit}` : label;
      this.version = `${commit ? `${commit} ` : ''}(dist/ built ${fs.statSync(dist).mtime.toISOString()})`;
      return null;
    },
    /**
     * startOpts.storeDir: run on a LevelBrokerStore in that directory (durable, group commit, fsync);
     * startOpts.encryptionKey: 32-byte Buffer, AES-256-GCM on (absent: encryption Disabled).
     * startOpts.stateStore: also start the state store service (scenario g).
     * startOpts.tls: { cert, key } PEM files: MQTT over TLS only (servers/ops-broker-tls.mjs, scenario h).
     */
    async start(startOpts = {}) {
      const env = { BENCH_OURS_DIST: distDir };
      if (startOpts.storeDir) env.BENCH_OURS_STORE = startOpts.storeDir;
      if (startOpts.encryptionKey) env.BENCH_OURS_STORE_KEY = startOpts.encryptionKey.toString('hex');
      if (startOpts.stateStore) env.BENCH_OURS_STATE_STORE = '1';
      if (startOpts.tls) Object.assign(env, { BENCH_TLS_CERT: startOpts.tls.cert, BENCH_TLS_KEY: startOpts.tls.key });
      const script = startOpts.tls ? 'ops-broker-tls.mjs' : 'ops-broker.mjs';
      const bp = startNodeScript(name, path.join(benchDir, 'servers', script), env);
      return awaitReady(bp, bp.waitPort(15000));
    },
  };
}

/** BENCH_BASELINE: another checkout of ops-broker with a built dist/, run as broker `base` beside ours. */
const baselineDir = process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : null;

/**
 * Broker definitions. `available()` returns null if usable or a reason to skip. `kind` is what the
 * scenarios select on (`brokers: [...]`): the baseline is an `ops-broker` like ours.
 */
export const BROKERS = [
  opsBrokerDefinition({ name: 'ours', label: 'ops-broker', checkoutDir: repoDir, showCommit: baselineDir !== null }),
  ...(baselineDir ? [opsBrokerDefinition({ name: 'base', label: 'ops-broker@base', checkoutDir: baselineDir, showCommit: true, baseline: true })] : []),
  {
    name: 'aedes',
    kind: 'aedes',
    label: 'aedes',
    available() {
      try {
        const pkg = JSON.parse(fs.readFileSync(path.join(repoDir, 'node_modules', 'aedes', 'package.json'), 'utf8'));
        this.version = pkg.version;
        return null;
      } catch {
        return 'node_modules/aedes not installed (npm ci)';
      }
    },
    async start() {
      const bp = startNodeScript('aedes', path.join(benchDir, 'servers', 'aedes.mjs'));
      return awaitReady(bp, bp.waitPort(15000));
    },
  },
  {
    name: 'mosquitto',
    kind: 'mosquitto',
    label: 'mosquitto',
    available() {
      this.bin = which('mosquitto');
      if (!this.bin) return 'mosquitto not on PATH (apt-get install mosquitto)';
      try {
        const out = execFileSync(this.bin, ['-h'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
        this.version = /version\s+(\S+)/.exec(out)?.[1];
      } catch (e) {
        // `mosquitto -h` exits non-zero on some versions; the text is still there.
        const out = String(e.stdout ?? '') + String(e.stderr ?? '');
        this.version = /version\s+(\S+)/.exec(out)?.[1];
      }
      return null;
    },
    /**
     * startOpts.persistDir: `persistence true` with `persistence_location` there (mosquitto.db is
     * written at autosave_interval, default 1800 s, and on shutdown; no per-message fsync).
     * startOpts.tls: { ca, cert, key } PEM files: the listener speaks MQTT over TLS only (scenario h).
     */
    async start(startOpts = {}) {
      const port = await freePort();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ops-bench-mosquitto-'));
      trackTemp(dir);
      const conf = path.join(dir, 'mosquitto.conf');
      fs.writeFileSync(
        conf,
        [
          `listener ${port} 127.0.0.1`,
          ...(startOpts.tls ? [`cafile ${startOpts.tls.ca}`, `certfile ${startOpts.tls.cert}`, `keyfile ${startOpts.tls.key}`] : []),
          'allow_anonymous true',
          ...(startOpts.persistDir ? ['persistence true', `persistence_location ${startOpts.persistDir}/`] : ['persistence false']),
          // Match ops-broker's defaults: 100 in flight per MQTT 3.1.1 client,
          // no count limit on the queue behind it (mosquitto's default of 1000
          // would drop QoS 1 messages in the fan-in scenario).
          'max_inflight_messages 100',
          'max_queued_messages 0',
          'max_connections -1',
          'log_dest stderr',
          'log_type error',
          'log_type warning',
          '',
        ].join('\n'),
      );
      fs.chmodSync(dir, 0o755);
      fs.chmodSync(conf, 0o644);
      // Started as root, mosquitto drops to its own user: it must be able to write the db there.
      if (startOpts.persistDir) fs.chmodSync(startOpts.persistDir, 0o777);
      const child = spawnTracked(this.bin, ['-c', conf], { cwd: dir });
      const bp = new BrokerProcess('mosquitto', child);
      bp.confDir = dir;
      await awaitReady(bp, waitForTcp(port, 10000, () => bp.exitInfo !== null));
      bp.port = port;
      return bp;
    },
  },
];
