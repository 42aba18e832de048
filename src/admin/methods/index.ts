/** All admin methods of a running broker. */
import { ADMIN_PROTOCOL_VERSION } from '../wire.js';
import type { AdminHandler } from '../server.js';
import { brokerMethods } from './broker.js';
import { changeMethods } from './change.js';
import type { AdminContext } from './method-context.js';
import { limitsMethods } from './limits.js';
import { persistMethods } from './persist.js';
import { resourceMethods } from './resources.js';

/** The handler table served on the admin socket. */
export function adminMethods(ctx: AdminContext): Record<string, AdminHandler> {
  return {
    ping: () => ({ pong: true, v: ADMIN_PROTOCOL_VERSION }),
    status: () => ctx.status(),
    stats: () => ctx.stats(),
    shutdown: () => {
      setImmediate(() => ctx.shutdown());
      return { stopping: true };
    },
    ...brokerMethods(ctx),
    ...persistMethods(ctx),
    ...limitsMethods(ctx),
    ...resourceMethods(ctx),
    ...changeMethods(ctx),
  };
}
