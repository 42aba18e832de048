/** `resource.list|get`: listeners, authentications and authorizations (their changes go through `runtime.change`). */
import { resourceInstance } from './broker.js';
import { paramsObject, stringParam } from '../../config/changes/request-fields.js';
import { COLLECTION_OF, getResource, isSubResourceKind, type SubResourceKind } from '../../config/resources.js';
import { subResourceView } from '../../config/resource-view.js';
import { OpsError } from '../../shared/errors.js';
import type { AdminHandler } from '../server.js';
import type { AdminContext } from './method-context.js';

function kindParam(params: Record<string, unknown>): SubResourceKind {
  const kind = params['kind'];
  if (!isSubResourceKind(kind)) throw new OpsError('ADM_BAD_REQUEST', { reason: 'param "kind" must be listener, authentication or authorization' });
  return kind;
}

/** Handlers of the resource methods. */
export function resourceMethods(ctx: AdminContext): Record<string, AdminHandler> {
  return {
    'resource.list': (params) => {
      const kind = kindParam(paramsObject(params));
      return Object.entries(ctx.state()[COLLECTION_OF[kind]]).map(([name, props]) => subResourceView(kind, resourceInstance(ctx), name, props));
    },
    'resource.get': (params) => {
      const p = paramsObject(params);
      const kind = kindParam(p);
      const name = stringParam(p, 'name');
      return subResourceView(kind, resourceInstance(ctx), name, getResource<object>(kind, ctx.state()[COLLECTION_OF[kind]], name, resourceInstance(ctx)));
    },
  };
}
