/** `persist.get`: the live persistence policy (its changes go through `runtime.change`). */
import type { AdminHandler } from '../server.js';
import { currentBroker } from './broker.js';
import type { AdminContext } from './method-context.js';

/** The policy as `persist show` prints it. */
export function persistView(ctx: AdminContext): Record<string, unknown> {
  return {
    persistence: currentBroker(ctx).persistence ?? null,
    policy: ctx.policy.policy,
    policyVersion: ctx.policy.version,
    appliedAt: ctx.policy.appliedAt.toISOString(),
  };
}

/** Handlers of the persist methods. */
export function persistMethods(ctx: AdminContext): Record<string, AdminHandler> {
  return {
    'persist.get': () => persistView(ctx),
  };
}
