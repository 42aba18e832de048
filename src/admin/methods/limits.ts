/** `limits.get`, `limits.set`: the ops-only abuse limits, changed live (open connections untouched). */
import { CONNECTION_LIMIT_KEYS, effectiveConnectionLimits, readConnectionLimits, updateConnectionLimits, type LimitArgs } from '../../config/connection-limits.js';
import type { AdminHandler } from '../server.js';
import { paramsObject, type AdminContext } from './context.js';

function limitArgs(params: unknown): LimitArgs {
  const p = paramsObject(params);
  const args: LimitArgs = {};
  for (const key of CONNECTION_LIMIT_KEYS) {
    const value = p[key];
    if (typeof value === 'string' || typeof value === 'number') args[key] = value;
  }
  return args;
}

/** Handlers of the limits methods. */
export function limitsMethods(ctx: AdminContext): Record<string, AdminHandler> {
  const view = (): Record<string, unknown> => ({ limits: effectiveConnectionLimits(readConnectionLimits(ctx.state().limits)) });
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
