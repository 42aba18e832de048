/** `broker.get`, `broker.update`, `log.level.set`: the Broker resource and its runtime settings. */
import { runtimeUpdateFromProperties } from '../../config/resources.js';
import { brokerView, type ResourceView } from '../../config/resource-view.js';
import { joinBrokerProperties, type RuntimeBrokerSettings } from '../../config/split.js';
import type { BrokerProperties, LogLevel } from '../../config/types.js';
import { assertValid } from '../../config/validate.js';
import type { AdminHandler } from '../server.js';
import { paramsObject, stringParam, type AdminContext } from './context.js';

/** The Broker properties now (locked half + runtime half). */
export function currentBroker(ctx: AdminContext): BrokerProperties {
  return joinBrokerProperties(ctx.deployment, ctx.state().broker as RuntimeBrokerSettings);
}

/** The Broker resource now. */
export function currentBrokerView(ctx: AdminContext): ResourceView {
  return brokerView(ctx.instance, currentBroker(ctx));
}

/** Handlers of the broker methods. */
export function brokerMethods(ctx: AdminContext): Record<string, AdminHandler> {
  return {
    'broker.get': () => currentBrokerView(ctx),
    'broker.update': async (params) => {
      const p = paramsObject(params);
      const runtime = runtimeUpdateFromProperties(ctx.deployment, p['properties'], 'the requested broker properties');
      await ctx.commit({ ...ctx.state(), broker: runtime as Record<string, unknown> });
      return currentBrokerView(ctx);
    },
    'log.level.set': async (params) => {
      const level = stringParam(paramsObject(params), 'level') as LogLevel;
      const broker = currentBroker(ctx);
      const diagnostics = { ...broker.diagnostics, logs: { ...broker.diagnostics?.logs, level } };
      assertValid('broker', { ...broker, diagnostics }, 'the requested log level');
      const runtime = { ...(ctx.state().broker as RuntimeBrokerSettings), diagnostics };
      await ctx.commit({ ...ctx.state(), broker: runtime as Record<string, unknown> });
      return { level };
    },
  };
}
