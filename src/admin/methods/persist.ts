/** `persist.get`, `persist.update`: the persistence policy, changed live without a restart. */
import type { PersistUpdateArgs } from '../../config/persist-update.js';
import { updatePersistence } from '../../config/resources.js';
import type { AdminHandler } from '../server.js';
import { currentBroker, currentBrokerView } from './broker.js';
import { groupsParam, paramsObject, stringArrayParam, type AdminContext } from './context.js';

function optionalString(params: Record<string, unknown>, key: string): string | undefined {
  const value = params[key];
  return typeof value === 'string' ? value : undefined;
}

/** Reads `persist.update` params into {@link PersistUpdateArgs} (unknown keys are ignored). */
export function persistArgs(params: unknown): PersistUpdateArgs {
  const p = paramsObject(params);
  const args: PersistUpdateArgs = {};
  const set = <K extends keyof PersistUpdateArgs>(key: K, value: PersistUpdateArgs[K] | undefined): void => {
    if (value !== undefined) args[key] = value;
  };
  set('persistMode', stringArrayParam(p, 'persistMode'));
  set('retainTopics', stringArrayParam(p, 'retainTopics'));
  set('subscriberClientIds', stringArrayParam(p, 'subscriberClientIds'));
  set('stateStoreStrKeys', groupsParam(p, 'stateStoreStrKeys'));
  set('stateStoreGlobKeys', groupsParam(p, 'stateStoreGlobKeys'));
  set('stateStoreBinKeys', groupsParam(p, 'stateStoreBinKeys'));
  set('disableDynamic', stringArrayParam(p, 'disableDynamic'));
  set('userKey', optionalString(p, 'userKey'));
  set('userValue', optionalString(p, 'userValue'));
  return args;
}

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
    'persist.update': async (params) => {
      const runtime = updatePersistence(currentBroker(ctx), persistArgs(params));
      await ctx.commit({ ...ctx.state(), broker: runtime as Record<string, unknown> });
      return { broker: currentBrokerView(ctx), policyVersion: ctx.policy.version, appliedAt: ctx.policy.appliedAt.toISOString() };
    },
  };
}
