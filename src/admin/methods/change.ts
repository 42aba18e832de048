/** `runtime.change`: one typed, versioned change request (see config/changes/), applied live. */
import { parseChangeRequest } from '../../config/changes/runtime-change.js';
import type { RuntimeState } from '../../config/runtime-state.js';
import type { AdminHandler } from '../server.js';
import type { AdminContext } from './method-context.js';

/** The reply of `runtime.change`: the runtime state after the change. */
export interface ChangeResult {
  readonly state: RuntimeState;
}

/** Handler of the change method. */
export function changeMethods(ctx: AdminContext): Record<string, AdminHandler> {
  return {
    'runtime.change': async (params): Promise<ChangeResult> => ({ state: await ctx.change(parseChangeRequest(params)) }),
  };
}
