/**
 * Starting and stopping the broker process: `bin/ops-broker.js --instance-dir DIR` through execa,
 * detached with output appended to broker.log; start returns once the broker answers an MQTT
 * CONNECT on its first port. execa is loaded on use: commands that start no broker do not pay its
 * start-up time.
 */
import { closeSync, fstatSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { formatBackendAddress, type BackendAddress } from '../../config/backend-address.js';
import type { InstancePaths } from '../../instance/layout.js';
import { openAppendNoFollow } from '../../instance/no-follow.js';
import { clearRunFiles, isProcessAlive, readStatusFile, type BrokerStatusFile } from '../../instance/status-file.js';
import { OpsError } from '../../shared/errors.js';
import { admin, pollUntil } from './instance.js';
import { probeMqtt } from './mqtt-probe.js';

/** The broker entry script. */
export const BROKER_BIN = fileURLToPath(new URL('../../../bin/ops-broker.js', import.meta.url));

/** Milliseconds `start` waits for readiness (override with OPS_START_TIMEOUT_MS). */
export function startTimeoutMs(env: Readonly<Record<string, string | undefined>>): number {
  const value = Number(env['OPS_START_TIMEOUT_MS']);
  return Number.isFinite(value) && value > 0 ? value : 20_000;
}

/** The last `lines` lines of a file (empty when unreadable). */
export async function tail(path: string, lines = 15): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Why the broker exited: the exit code or signal, then the last `ops-broker: CODE: message` line
 * the broker wrote during this start (`logSinceStart`), e.g. `exit code 5: STO_WRONG_KEY: The store at ...`.
 */
export function exitReason(exited: { code: number | undefined; signal: string | undefined } | undefined, logSinceStart: string): string {
  const base = exited?.signal ? `signal ${exited.signal}` : `exit code ${exited?.code ?? '?'}`;
  const line = logSinceStart
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('ops-broker: '));
  return line === undefined ? base : `${base}: ${line.slice('ops-broker: '.length)}`;
}

/**
 * Runs `work` with an AbortSignal that Ctrl-C (SIGINT) aborts, instead of ending the CLI at once
 * (which would leave a half-started broker behind).
 */
export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onInterrupt = (): void => controller.abort();
  process.once('SIGINT', onInterrupt);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

/** How the broker process is started. */
export interface BrokerFlags {
  /** `--repair`: on a damaged write-ahead log, with what survived. */
  readonly repair?: boolean;
  /** `--backend`: as a cluster frontend on this backend (instead of the instance's own). */
  readonly backend?: BackendAddress;
}

/** The broker process's arguments. */
function brokerArgs(paths: InstancePaths, flags: BrokerFlags): string[] {
  return [
    BROKER_BIN,
    '--instance-dir',
    paths.dir,
    ...(flags.repair === true ? ['--repair'] : []),
    ...(flags.backend !== undefined ? ['--backend', formatBackendAddress(flags.backend)] : []),
  ];
}

/**
 * Starts the broker detached with `flags` (see {@link BrokerFlags});
 * resolves with its status once it accepts MQTT connections. When `signal` aborts first
 * (Ctrl-C), the starting broker is stopped (SIGTERM, SIGKILL after 3 s) and `CLI_CANCELLED` is thrown.
 */
export async function startDetached(paths: InstancePaths, timeoutMs: number, flags: BrokerFlags = {}, signal?: AbortSignal): Promise<BrokerStatusFile> {
  return startDetachedProcess(paths, timeoutMs, {
    args: brokerArgs(paths, flags),
    ...(signal !== undefined ? { signal } : {}),
    stop: (pid, why) => (why === 'cancelled' ? stopStarting(pid) : Promise.resolve(signalIfAlive(pid, 'SIGKILL'))),
  });
}

/** How {@link startDetachedProcess} starts a process and cleans up after one that did not get ready. */
export interface DetachedStart {
  /** Node's arguments (the script first). */
  readonly args: readonly string[];
  readonly signal?: AbortSignal;
  /** How often the status file is read; default pollUntil's. */
  readonly pollMs?: number;
  /** Stops a process that did not get ready (the start was cancelled, or timed out). */
  readonly stop: (pid: number, why: 'cancelled' | 'timeout') => Promise<void>;
  /** After the process exited before it was ready: removes what it left behind. */
  readonly exited?: () => Promise<unknown>;
  /** Log lines quoted in INST_START_FAILED (default 15). */
  readonly failedTailLines?: number;
}

/**
 * Starts a Node process detached, its output appended to the instance's log (a symlinked log is
 * refused: INST_UNSAFE_PATH), and resolves with its status file once it wrote one naming its pid and
 * its first plain MQTT port answers. Exited first: INST_START_FAILED with why; not ready in
 * `timeoutMs`: INST_START_TIMEOUT; cancelled: CLI_CANCELLED (stopped in both cases).
 */
export async function startDetachedProcess(paths: InstancePaths, timeoutMs: number, start: DetachedStart): Promise<BrokerStatusFile> {
  const fd = openAppendNoFollow(paths.log, 0o600); // a symlinked broker.log is refused (INST_UNSAFE_PATH)
  const logStart = fstatSync(fd).size;
  let exited: { code: number | undefined; signal: string | undefined } | undefined;
  try {
    const { execa } = await import('execa');
    const child = execa(process.execPath, [...start.args], {
      detached: true,
      reject: false,
      stdin: 'ignore',
      // execa's types only list fds 3-9; any open fd is passed straight to spawn.
      stdout: fd as 3,
      stderr: fd as 3,
      env: { OPS_BROKER_DETACHED: '1' },
    });
    child.unref();
    void child.then((result) => {
      exited = { code: result.exitCode, signal: result.signal };
    });
    const ready = await pollUntil(async () => {
      if (exited) return 'exited' as const;
      if (start.signal?.aborted === true) return 'cancelled' as const;
      const status = await readStatusFile(paths.status);
      if (!status || status.pid !== child.pid) return undefined;
      const first = status.ports.find((p) => p.protocol !== 'WebSockets' && p.tls !== true);
      if (first && !(await probeMqtt(first.host, first.port, 1000))) return undefined;
      return status;
    }, timeoutMs, start.pollMs);
    if (ready === 'cancelled') {
      if (child.pid !== undefined) await start.stop(child.pid, 'cancelled');
      throw new OpsError('CLI_CANCELLED');
    }
    if (ready === 'exited' || exited) {
      await start.exited?.();
      const since = (await readFile(paths.log).catch(() => Buffer.alloc(0))).subarray(logStart).toString('utf8');
      throw new OpsError('INST_START_FAILED', { name: paths.name, reason: exitReason(exited, since), log: paths.log, tail: await tail(paths.log, start.failedTailLines) });
    }
    if (!ready) {
      if (child.pid !== undefined) await start.stop(child.pid, 'timeout');
      throw new OpsError('INST_START_TIMEOUT', { name: paths.name, seconds: Math.round(timeoutMs / 1000), log: paths.log, tail: await tail(paths.log) });
    }
    return ready;
  } finally {
    closeSync(fd);
  }
}

/** Stops a broker that has not finished starting: SIGTERM, then SIGKILL after 3 s. */
async function stopStarting(pid: number): Promise<void> {
  const gone = () => Promise.resolve(isProcessAlive(pid) ? undefined : true);
  signalIfAlive(pid, 'SIGTERM');
  if (await pollUntil(gone, 3000)) return;
  signalIfAlive(pid, 'SIGKILL');
  await pollUntil(gone, 3000);
}

/** Sends `signal` to `pid` if it still runs. */
function signalIfAlive(pid: number, signal: NodeJS.Signals): void {
  if (isProcessAlive(pid)) process.kill(pid, signal);
}

/** Stops the broker with pid `pid`: admin shutdown, then SIGTERM, then SIGKILL; waits for it to exit. */
export async function stopBroker(paths: InstancePaths, pid: number, timeoutMs = 15_000): Promise<void> {
  const gone = () => Promise.resolve(isProcessAlive(pid) ? undefined : true);
  const asked = await admin(paths, 'shutdown', undefined, { timeoutMs: 3000 }).then(
    () => true,
    () => false,
  );
  if (!asked) signalIfAlive(pid, 'SIGTERM');
  if (!(await pollUntil(gone, timeoutMs))) {
    signalIfAlive(pid, 'SIGTERM');
    if (!(await pollUntil(gone, 3000))) {
      signalIfAlive(pid, 'SIGKILL');
      if (!(await pollUntil(gone, 3000))) throw new OpsError('INST_STOP_TIMEOUT', { name: paths.name, pid, seconds: Math.round(timeoutMs / 1000) });
    }
  }
  await clearRunFiles(paths);
}

/** Runs the broker in the foreground with inherited output (`flags`: see {@link BrokerFlags}); resolves with its exit code. */
export function runForeground(paths: InstancePaths, flags: BrokerFlags = {}): Promise<number> {
  return runForegroundProcess(brokerArgs(paths, flags));
}

/** Runs `node args...` in the foreground with inherited output, forwarding SIGINT/SIGTERM to it; resolves with its exit code. */
export async function runForegroundProcess(args: readonly string[]): Promise<number> {
  const { execa } = await import('execa');
  const child = execa(process.execPath, [...args], { stdio: 'inherit', reject: false, cleanup: true });
  const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    const result = await child;
    return result.exitCode ?? 1;
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}
