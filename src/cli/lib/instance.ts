/** Finding an instance and its broker from the CLI: paths, running state, admin calls. */
import { callAdmin, type CallOptions } from '../../admin/client.js';
import type { AdminMethod } from '../../admin/wire.js';
import { readDeploymentLock } from '../../instance/deployment-lock.js';
import { requireInstance } from '../../instance/instances.js';
import type { InstancePaths } from '../../instance/layout.js';
import { readRuntimeState, writeRuntimeState, type RuntimeState } from '../../instance/runtime-file.js';
import { isBrokerProcess, readPidFile, readStatusFile, type BrokerStatusFile } from '../../instance/status-file.js';
import type { DeploymentSettings } from '../../config/split.js';
import type { CliContext } from '../context.js';

/** Whether an instance's broker runs. */
export interface RunState {
  readonly running: boolean;
  readonly pid?: number;
  readonly status?: BrokerStatusFile;
}

/** Paths of an existing instance (`INST_NOT_FOUND` otherwise). */
export function findInstance(ctx: CliContext, name: string): Promise<InstancePaths> {
  return requireInstance(ctx.home, name);
}

/** Whether the broker of `paths` runs (its pid file names a live process). */
export async function brokerRunState(paths: InstancePaths): Promise<RunState> {
  const pid = await readPidFile(paths.pid);
  if (pid === undefined || !isBrokerProcess(pid)) return { running: false };
  const status = await readStatusFile(paths.status);
  return status ? { running: true, pid, status } : { running: true, pid };
}

/** Calls an admin method on the instance's broker. */
export function admin(paths: InstancePaths, method: AdminMethod, params?: unknown, options?: CallOptions): Promise<unknown> {
  return callAdmin(paths.socket, method, params, options);
}

/** The locked deployment-time settings. */
export async function storedDeployment(paths: InstancePaths): Promise<DeploymentSettings> {
  return (await readDeploymentLock(paths.lock)).settings as DeploymentSettings;
}

/** The stored settings: the locked ones and the runtime state. */
export async function storedSettings(paths: InstancePaths): Promise<{ deployment: DeploymentSettings; state: RuntimeState }> {
  return { deployment: await storedDeployment(paths), state: await readRuntimeState(paths.runtime) };
}

/** Saves the runtime state of a stopped broker. */
export function saveState(paths: InstancePaths, state: RuntimeState): Promise<void> {
  return writeRuntimeState(paths.runtime, state);
}

/** Polls `check` every `intervalMs` until it returns a value or `timeoutMs` passes (then undefined). */
export async function pollUntil<T>(check: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 50): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
