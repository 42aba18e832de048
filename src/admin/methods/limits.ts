/** `limits.get`, `limits.set`: the ops-only abuse limits, changed live (open connections untouched; the session queue bound applies to the next message). */
import { effectiveConnectionLimits, LIMIT_KEYS, readConnectionLimits, updateConnectionLimits, type ConnectionLimitSettings, type LimitArgs, type ProfileLimitKey } from '../../config/connection-limits.js';
import type { DeploymentSettings } from '../../config/split.js';
import { defaultMaxPartialPacketBytes, resolveBrokerOptions, type MemoryProfile } from '../../broker/options.js';
import type { AdminHandler } from '../server.js';
import { paramsObject, type AdminContext } from './context.js';

function limitArgs(params: unknown): LimitArgs {
  const p = paramsObject(params);
  const args: LimitArgs = {};
  for (const key of LIMIT_KEYS) {
    const value = p[key];
    if (typeof value === 'string' || typeof value === 'number') args[key] = value;
  }
  return args;
}

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
  const view = (): Record<string, unknown> => ({ limits: limitsView(readConnectionLimits(ctx.state().limits), ctx.deployment) });
  return {
    'limits.get': () => view(),
    'limits.set': async (params) => {
      const state = ctx.state();
      const limits = updateConnectionLimits(readConnectionLimits(state.limits), limitArgs(params));
      await ctx.commit({ ...state, limits: { ...limits } });
      return view();
    },
  };
}
