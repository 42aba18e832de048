/**
 * The admin socket of a local topology (`<instance>/admin.sock`, served by the supervisor): every
 * method but `shutdown` is forwarded to a running frontend, so `ops broker stats|show|persist
 * update|authz apply|log-level set ...` work on the topology as on one broker (a runtime change
 * reaches every frontend through the cluster's config channel); `shutdown` stops the whole topology.
 */
import { callAdmin } from '../../admin/client.js';
import { startAdminServer, type AdminHandler, type AdminServer } from '../../admin/server.js';
import { ADMIN_METHODS, type AdminMethod } from '../../admin/wire.js';
import { OpsError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';

/** Starts the topology's admin socket at `path`. */
export function startTopologyAdmin(path: string, liveSocket: () => string | undefined, shutdown: () => void, log: Logger): Promise<AdminServer> {
  const forward =
    (method: AdminMethod): AdminHandler =>
    (params) => {
      const socket = liveSocket();
      if (socket === undefined) throw new OpsError('ADM_UNREACHABLE', { path, reason: 'no frontend of the topology is up' });
      return callAdmin(socket, method, params);
    };
  const handlers: Record<string, AdminHandler> = {};
  for (const method of ADMIN_METHODS) handlers[method] = forward(method);
  handlers['shutdown'] = () => {
    setImmediate(shutdown);
    return { stopping: true };
  };
  return startAdminServer(path, handlers, log);
}
