/**
 * The start of a cluster frontend: the cluster's shared runtime settings (config/shared-runtime.ts)
 * replace this instance's stored ones, which may be older (the instance was stopped during a change,
 * or was just created) or changed while it was stopped: the cluster's always win, and runtime.json
 * is rewritten to match.
 */
import type { ConfigRevision } from '../cluster/config-codec.js';
import type { RuntimeState } from '../config/runtime-state.js';
import { sameShared, sharedPartOf, withShared } from '../config/shared-runtime.js';
import { joinBrokerProperties, type DeploymentSettings } from '../config/split.js';
import { assertValid } from '../config/validate.js';
import type { InstancePaths } from '../instance/layout.js';
import { writeRuntimeState } from '../instance/runtime-file.js';
import type { Logger } from '../shared/log.js';

/**
 * `stored` with the shared part of `latest` (unchanged without one), checked as at every start (the
 * joined Broker document against this instance's locked half: `CFG_SCHEMA_INVALID`) and written.
 */
export async function adoptClusterSettings(
  paths: InstancePaths,
  deployment: DeploymentSettings,
  stored: RuntimeState,
  latest: ConfigRevision | undefined,
  log: Logger,
): Promise<RuntimeState> {
  if (latest === undefined || sameShared(sharedPartOf(stored), latest.shared)) return stored;
  const next = withShared(stored, latest.shared);
  assertValid('broker', joinBrokerProperties(deployment, next.broker), `cluster config revision ${latest.rev}`);
  await writeRuntimeState(paths.runtime, next);
  log.info({ rev: latest.rev, origin: latest.origin }, "stored runtime settings replaced by the cluster's");
  return next;
}
