// Child-process bookkeeping: every process the bench starts is registered here
// and killed on exit, whatever happens.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const children = new Set();
const tempPaths = new Set();

// Raise the fd limit of the child (10k idle connections need >10k fds in the broker).
const ULIMIT_WRAPPER = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"';

/** Spawns cmd under `sh -c 'ulimit -n ...; exec cmd'` (same pid as cmd after exec). */
export function spawnTracked(cmd, args, opts = {}) {
  const child = spawn('sh', ['-c', ULIMIT_WRAPPER, cmd, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    ...opts,
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

const pids = new Set();

/** A process not started through spawnTracked (a detached `ops create` broker): SIGKILLed by killAll. */
export function trackPid(pid) {
  pids.add(pid);
}

export function untrackPid(pid) {
  pids.delete(pid);
}

/** True while a process with `pid` exists. */
export function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function trackTemp(p) {
  tempPaths.add(p);
}

export function killAll() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {}
  }
  children.clear();
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  pids.clear();
  for (const p of tempPaths) {
    try {
      fs.rmSync(p, { recursive: true, force: true });
    } catch {}
  }
  tempPaths.clear();
}

let installed = false;
export function installCleanupHandlers() {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      killAll();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch {}

/** Resident set size of a process in bytes (VmRSS from /proc/<pid>/status), or null. */
export function readRss(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(s);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** CPU seconds (user+system) consumed so far by a process, or null. */
export function readCpuSeconds(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return (utime + stime) / clkTck;
  } catch {
    return null;
  }
}

/** CPU seconds the whole machine spent busy so far (all cores, from /proc/stat), or null. */
export function readMachineBusySeconds() {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...
    const busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] || 0);
    return busy / clkTck;
  } catch {
    return null;
  }
}

/** Threads of a process (to tell single-threaded brokers from multi-threaded ones). */
export function readThreads(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^Threads:\s+(\d+)/m.exec(s);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export function currentFdLimit() {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -n']).toString().trim());
  } catch {
    return NaN;
  }
}

/** The path of executable `cmd` on PATH (then the sbin directories, where mosquitto lives), or null. */
export function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/local/sbin', '/sbin'])) {
    const p = path.join(dir || '.', cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {}
  }
  return null;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
