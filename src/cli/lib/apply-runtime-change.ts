/**
 * The one place the CLI decides, for runtime settings, whether it talks to the running broker or to
 * the stored files. A change: a running broker applies the change request itself (admin
 * `runtime.change`), else the CLI applies the same change to the stored state and writes it, for the
 * next start; either way the caller gets the state after the change. A read: the running broker's
 * answer, else the stored settings.
 */
import { OpsError } from '../../shared/errors.js';
import { applyChange, type ChangeRequest } from '../../config/changes/runtime-change.js';
import { parseRuntimeState, type RuntimeState } from '../../config/runtime-state.js';
import type { DeploymentSettings } from '../../config/split.js';
import type { AdminMethod } from '../../admin/wire.js';
import type { InstancePaths } from '../../instance/layout.js';
import { isRecord } from '../../shared/plain-objects.js';
import { sameShared, sharedPartOf } from '../../config/shared-runtime.js';
import { readBackendFile } from '../../instance/backend-file.js';
import type { CliContext } from '../context.js';
import { MSG } from '../messages.js';
import { admin, brokerRunState, saveState, storedDeployment, storedSettings } from './instance.js';

/** The state after a change, and the locked settings to read it with. */
export interface ChangedRuntime {
  readonly state: RuntimeState;
  readonly deployment: DeploymentSettings;
  /** True when the running broker applied it; false when it was stored for the next start. */
  readonly live: boolean;
}

/** Applies `request` to the instance at `paths`, live when its broker runs (see the module comment). */
export async function changeRuntime(ctx: CliContext, paths: InstancePaths, request: ChangeRequest): Promise<ChangedRuntime> {
  if ((await brokerRunState(paths)).running) {
    const reply = await admin(paths, 'runtime.change', request);
    const state = parseRuntimeState(isRecord(reply) ? reply['state'] : undefined, paths.runtime);
    return { state, deployment: await storedDeployment(paths), live: true };
  }
  const { deployment, state } = await storedSettings(paths);
  const next = applyChange(state, request, { deployment, instance: paths.name }).state;
  await saveState(paths, next);
  ctx.stderr.write(`${MSG.offlineApplied}\n`);
  // A stopped cluster frontend adopts the cluster's shared settings at start (docs/cluster.md).
  if (!sameShared(sharedPartOf(state), sharedPartOf(next)) && (await readBackendFile(paths.backend)) !== undefined) {
    ctx.stderr.write(`${MSG.offlineClusterShared}\n`);
  }
  return { state: next, deployment, live: false };
}

/** Undefined for a broker that did not answer (unreachable, timed out); every other error is rethrown. */
function unanswered(error: unknown): undefined {
  if (error instanceof OpsError && (error.code === 'ADM_UNREACHABLE' || error.code === 'ADM_TIMEOUT')) return undefined;
  throw error;
}

/** Runtime settings as read: the running broker's answer, or the stored settings when it is stopped. */
export type RuntimeRead =
  | { readonly live: true; readonly reply: unknown }
  | { readonly live: false; readonly stored: { readonly deployment: DeploymentSettings; readonly state: RuntimeState } };

/**
 * Calls `method` on the running broker, or reads the stored settings when it is stopped. With
 * `storedIfUnanswered`, a running broker that does not answer (still starting, stopping) is read from
 * the stored settings too, instead of failing (for views that only show settings).
 */
export async function readRuntime(paths: InstancePaths, method: AdminMethod, options: { storedIfUnanswered?: boolean } = {}): Promise<RuntimeRead> {
  if ((await brokerRunState(paths)).running) {
    const reply = options.storedIfUnanswered === true ? await admin(paths, method).catch(unanswered) : await admin(paths, method);
    if (reply !== undefined) return { live: true, reply };
  }
  return { live: false, stored: await storedSettings(paths) };
}
