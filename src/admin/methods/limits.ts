/** `limits.get`: the ops-only abuse limits with their defaults (their changes go through `runtime.change`). */
import { effectiveConnectionLimits, type ConnectionLimitSettings, type ProfileLimitKey } from '../../config/connection-limits.js';
import type { DeploymentSettings } from '../../config/split.js';
import { defaultMaxPartialPacketBytes, resolveBrokerOptions, type MemoryProfile } from '../../broker/broker-options.js';
import type { AdminHandler } from '../server.js';
import type { AdminContext } from './method-context.js';

/** The defaults of an instance's limits that follow its memory profile (and maximum packet size). */
export function profileLimitDefaults(deployment: DeploymentSettings): Record<ProfileLimitKey, number> {
  const memoryProfile = (deployment.memoryProfile ?? 'Medium') as MemoryProfile;
  const maxPacketSizeBytes = deployment.advanced?.clients?.maxPacketSizeBytes;
  const options = resolveBrokerOptions({ memoryProfile, ...(maxPacketSizeBytes !== undefined ? { clients: { maxPacketSizeBytes } } : {}) });
  return {
    maxSessionQueueBytes: options.sessionQueueBytes,
    maxPartialPacketBytes: defaultMaxPartialPacketBytes(options.maxPacketSizeBytes, options.queuedBytesBudget),
  };
}

/** The limits of an instance with its defaults filled in. */
export function limitsView(settings: ConnectionLimitSettings, deployment: DeploymentSettings): Required<ConnectionLimitSettings> {
  return effectiveConnectionLimits(settings, profileLimitDefaults(deployment));
}

/** Handlers of the limits methods. */
export function limitsMethods(ctx: AdminContext): Record<string, AdminHandler> {
  return {
    'limits.get': () => ({ limits: limitsView(ctx.state().limits ?? {}, ctx.deployment) }),
  };
}
