/** `broker.get`: the Broker resource (its changes go through `runtime.change`). */
import { brokerView, withBackend, type ResourceView } from '../../config/resource-view.js';
import { joinBrokerProperties } from '../../config/split.js';
import type { BrokerProperties } from '../../config/types.js';
import type { AdminHandler } from '../server.js';
import type { AdminContext } from './method-context.js';

/** The Broker properties now (locked half + runtime half). */
export function currentBroker(ctx: AdminContext): BrokerProperties {
  return joinBrokerProperties(ctx.deployment, ctx.state().broker);
}

/** The Broker resource now. */
export function currentBrokerView(ctx: AdminContext): ResourceView {
  return withBackend(brokerView(ctx.instance, currentBroker(ctx)), ctx.backend);
}

/** Handlers of the broker methods. */
export function brokerMethods(ctx: AdminContext): Record<string, AdminHandler> {
  return {
    'broker.get': () => currentBrokerView(ctx),
  };
}
