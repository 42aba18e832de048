/** `broker.get`: the Broker resource (its changes go through `runtime.change`). */
import { brokerView, withBackend, withCardinality, type ResourceView } from '../../config/resource-view.js';
import { joinBrokerProperties } from '../../config/split.js';
import type { BrokerProperties } from '../../config/types.js';
import type { AdminHandler } from '../server.js';
import type { AdminContext } from './method-context.js';

/** The Broker properties now (locked half + runtime half). */
export function currentBroker(ctx: AdminContext): BrokerProperties {
  return joinBrokerProperties(ctx.deployment, ctx.state().broker);
}

/** The instance name resources carry: a local topology's frontends all use the topology's. */
export function resourceInstance(ctx: AdminContext): string {
  return ctx.topologyInstance ?? ctx.instance;
}

/** The Broker resource now, with how its cardinality is used. */
export function currentBrokerView(ctx: AdminContext): ResourceView {
  const view = withBackend(brokerView(resourceInstance(ctx), currentBroker(ctx)), ctx.backend);
  return withCardinality(view, ctx.topologyInstance !== undefined ? 'local' : ctx.backend !== undefined ? 'frontend' : 'embedded');
}

/** Handlers of the broker methods. */
export function brokerMethods(ctx: AdminContext): Record<string, AdminHandler> {
  return {
    'broker.get': () => currentBrokerView(ctx),
  };
}
