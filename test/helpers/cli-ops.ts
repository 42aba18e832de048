/**
 * e2e helpers: run the real bin/ops through execa in a temp OPS_HOME with NO_COLOR=1, and make
 * sure every broker a test started is stopped afterwards.
 */
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { isProcessAlive } from '../../src/instance/status-file.js';

/** bin/ops.js of this checkout (needs `npm run build`). */
export const OPS_BIN = fileURLToPath(new URL('../../bin/ops.js', import.meta.url));

/** What one `ops` run gave. */
export interface OpsRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A temp `$OPS_HOME` with a runner bound to it. */
export interface OpsHome {
  readonly home: string;
  /** Runs `ops ARGS` (never rejects; check exitCode). */
  ops(...args: string[]): Promise<OpsRun>;
  /** Runs `ops ARGS -o json` expecting success, and parses stdout. */
  json<T = Record<string, unknown>>(...args: string[]): Promise<T>;
  /** Stops every broker under the home (graceful, then SIGKILL) and removes the folder. */
  cleanup(): Promise<void>;
}

/** Creates a temp OPS_HOME. */
export async function makeOpsHome(): Promise<OpsHome> {
  const home = await mkdtemp(join(tmpdir(), 'ops-e2e-'));
  const ops = async (...args: string[]): Promise<OpsRun> => {
    const r = await execa(process.execPath, [OPS_BIN, ...args], {
      env: { OPS_HOME: home, NO_COLOR: '1', OPS_START_TIMEOUT_MS: '15000' },
      reject: false,
      stdin: 'ignore',
      timeout: 30_000,
    });
    return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const json = async <T>(...args: string[]): Promise<T> => {
    const r = await ops(...args, '-o', 'json');
    if (r.exitCode !== 0) throw new Error(`ops ${args.join(' ')} failed (${r.exitCode}): ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  };
  const cleanup = async (): Promise<void> => {
    // Instances are the folders (tests keep config files beside them); they are stopped all at once.
    const entries = await readdir(home, { withFileTypes: true }).catch(() => []);
    const stopped = entries.filter((e) => e.isDirectory()).map(async ({ name }) => {
      const pid = Number((await readFile(join(home, name, 'broker.pid'), 'utf8').catch(() => '')).trim());
      if (!(pid > 0 && isProcessAlive(pid))) return; // nothing runs: no `ops broker stop` to spawn
      await ops('broker', 'stop', '--instance', name);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    });
    await Promise.all(stopped);
    await rm(home, { recursive: true, force: true });
  };
  return { home, ops, json, cleanup };
}

/** The port of a listener (by default `default-insecure`, the plain one `--port` adds) of a created/started broker (from `-o json` output). */
export function portOf(result: { ports: ReadonlyArray<{ listener: string; port: number }> }, listener = 'default-insecure'): number {
  const port = result.ports.find((p) => p.listener === listener)?.port;
  if (port === undefined) throw new Error(`listener ${listener} is not open`);
  return port;
}

/**
 * Deletes the TLS listener `default` that `ops create` deploys, leaving the plain `default-insecure`:
 * room for tests that apply listeners of their own (a broker has at most 3).
 */
export async function dropTlsDefault(home: OpsHome, instance: string): Promise<void> {
  const r = await home.ops('broker', 'listener', 'delete', '--instance', instance, '--name', 'default', '--yes');
  if (r.exitCode !== 0) throw new Error(`deleting listener default of ${instance} failed (${r.exitCode}): ${r.stderr}`);
}

/** True when a process with `pid` runs (zombies waiting for their reaper count as gone). */
export function alive(pid: number): boolean {
  return isProcessAlive(pid);
}

/** Polls `check` until it is truthy or `timeoutMs` passes; returns the last value. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
}
