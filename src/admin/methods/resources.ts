/** `resource.list|get|apply|delete`: listeners, authentications and authorizations. */
import { applyResource, COLLECTION_OF, deleteResource, getResource, isSubResourceKind, type SubResourceKind } from '../../config/resources.js';
import { subResourceView } from '../../config/resource-view.js';
import { OpsError } from '../../shared/errors.js';
import type { AdminHandler } from '../server.js';
import { paramsObject, stringParam, type AdminContext } from './context.js';

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
      return Object.entries(ctx.state()[COLLECTION_OF[kind]]).map(([name, props]) => subResourceView(kind, ctx.instance, name, props));
    },
    'resource.get': (params) => {
      const p = paramsObject(params);
      const kind = kindParam(p);
      const name = stringParam(p, 'name');
      return subResourceView(kind, ctx.instance, name, getResource(kind, ctx.state()[COLLECTION_OF[kind]], name, ctx.instance));
    },
    'resource.apply': async (params) => {
      const p = paramsObject(params);
      const kind = kindParam(p);
      const name = stringParam(p, 'name');
      const source = typeof p['source'] === 'string' ? p['source'] : 'the request';
      const state = ctx.state();
      const collection = COLLECTION_OF[kind];
      const next = applyResource(kind, state[collection], name, p['properties'], source, state.listeners);
      await ctx.commit({ ...state, [collection]: next });
      return subResourceView(kind, ctx.instance, name, next[name] ?? {});
    },
    'resource.delete': async (params) => {
      const p = paramsObject(params);
      const kind = kindParam(p);
      const name = stringParam(p, 'name');
      const state = ctx.state();
      const collection = COLLECTION_OF[kind];
      await ctx.commit({ ...state, [collection]: deleteResource(kind, state[collection], name, ctx.instance) });
      return { deleted: name };
    },
  };
}
