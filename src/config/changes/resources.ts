/** `resource.apply` and `resource.delete`: listeners, authentications and authorizations, by name. */
import { assertResourceName, COLLECTION_OF, getResource, isSubResourceKind, otherListeners, type SubResourceKind } from '../resources.js';
import type { RuntimeState } from '../runtime-state.js';
import { assertValid } from '../validate.js';
import { OpsError } from '../../shared/errors.js';
import type { ChangeDefinition, Touch } from './change.js';
import { onlyKnownParams, stringParam } from './request-fields.js';

/** Creates or replaces a resource. */
export interface ResourceApplyRequest {
  readonly v: 1;
  readonly kind: 'resource.apply';
  readonly resource: SubResourceKind;
  readonly name: string;
  /** Checked against the resource's schema when applied. */
  readonly properties: unknown;
  /** What to call the properties in a refusal (the config file, or what a command built). */
  readonly source: string;
}

/** Deletes a resource. */
export interface ResourceDeleteRequest {
  readonly v: 1;
  readonly kind: 'resource.delete';
  readonly resource: SubResourceKind;
  readonly name: string;
}

/** The request that creates or replaces resource `name`. */
export function resourceApplyRequest(resource: SubResourceKind, name: string, properties: unknown, source: string): ResourceApplyRequest {
  return { v: 1, kind: 'resource.apply', resource, name, properties, source };
}

/** The request that deletes resource `name`. */
export function resourceDeleteRequest(resource: SubResourceKind, name: string): ResourceDeleteRequest {
  return { v: 1, kind: 'resource.delete', resource, name };
}

function resourceParam(fields: Record<string, unknown>): SubResourceKind {
  const resource = fields['resource'];
  if (!isSubResourceKind(resource)) throw new OpsError('ADM_BAD_REQUEST', { reason: 'param "resource" must be listener, authentication or authorization' });
  return resource;
}

/** A listener change reopens ports and recompiles their security; the others only recompile security. */
const touchesOf = (resource: SubResourceKind): readonly Touch[] => (resource === 'listener' ? ['listeners', 'security'] : ['security']);

function without<T>(map: Readonly<Record<string, T>>, name: string): Record<string, T> {
  const { [name]: _gone, ...rest } = map;
  return rest;
}

/** The `resource.apply` change: validates the properties (listener ports unique across listeners). */
export const resourceApply: ChangeDefinition<ResourceApplyRequest> = {
  parse(fields) {
    onlyKnownParams(fields, ['kind', 'resource', 'name', 'properties', 'source']);
    const source = fields['source'] === undefined ? 'the request' : stringParam(fields, 'source');
    return { v: 1, kind: 'resource.apply', resource: resourceParam(fields), name: stringParam(fields, 'name'), properties: fields['properties'], source };
  },
  apply(state, { resource, name, properties, source }): RuntimeState {
    assertResourceName(name);
    switch (resource) {
      case 'listener': {
        const valid = assertValid('listener', properties, source, { otherListeners: otherListeners(state.listeners, name) });
        return { ...state, listeners: { ...state.listeners, [name]: valid } };
      }
      case 'authentication':
        return { ...state, authentications: { ...state.authentications, [name]: assertValid('authentication', properties, source) } };
      case 'authorization':
        return { ...state, authorizations: { ...state.authorizations, [name]: assertValid('authorization', properties, source) } };
    }
  },
  touches: (request) => touchesOf(request.resource),
};

/** The `resource.delete` change: `CFG_RESOURCE_NOT_FOUND` when there is no such resource. */
export const resourceDelete: ChangeDefinition<ResourceDeleteRequest> = {
  parse(fields) {
    onlyKnownParams(fields, ['kind', 'resource', 'name']);
    return { v: 1, kind: 'resource.delete', resource: resourceParam(fields), name: stringParam(fields, 'name') };
  },
  apply(state, { resource, name }, env): RuntimeState {
    getResource<object>(resource, state[COLLECTION_OF[resource]], name, env.instance);
    switch (resource) {
      case 'listener':
        return { ...state, listeners: without(state.listeners, name) };
      case 'authentication':
        return { ...state, authentications: without(state.authentications, name) };
      case 'authorization':
        return { ...state, authorizations: without(state.authorizations, name) };
    }
  },
  touches: (request) => touchesOf(request.resource),
};
