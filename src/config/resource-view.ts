/** The ARM-shaped resources `show`/`list`/`apply` print, as `az iot ops` does. */
import type { BackendAddress } from './backend-address.js';
import type { SubResourceKind } from './resources.js';

/** Resource group shown for local instances. */
export const LOCAL_RESOURCE_GROUP = 'local';
const SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';

/** ARM type of each resource kind. */
export const RESOURCE_TYPES = {
  broker: 'Microsoft.IoTOperations/instances/brokers',
  listener: 'Microsoft.IoTOperations/instances/brokers/listeners',
  authentication: 'Microsoft.IoTOperations/instances/brokers/authentications',
  authorization: 'Microsoft.IoTOperations/instances/brokers/authorizations',
} as const;

/** A resource as printed. */
export interface ResourceView {
  readonly id: string;
  readonly name: string;
  readonly type: string;
  readonly properties: Record<string, unknown>;
  readonly resourceGroup: string;
}

/** Broker name: AIO allows only `default`. */
export const BROKER_NAME = 'default';

function brokerId(instance: string): string {
  return `/subscriptions/${SUBSCRIPTION}/resourceGroups/${LOCAL_RESOURCE_GROUP}/providers/Microsoft.IoTOperations/instances/${instance}/brokers/${BROKER_NAME}`;
}

/** The Broker resource of an instance. */
export function brokerView(instance: string, properties: object, provisioningState = 'Succeeded'): ResourceView {
  return {
    id: brokerId(instance),
    name: BROKER_NAME,
    type: RESOURCE_TYPES.broker,
    properties: { ...properties, provisioningState },
    resourceGroup: LOCAL_RESOURCE_GROUP,
  };
}

/**
 * The Broker resource of a cluster frontend: plus `backend: { kind, seeds }` (not an AIO property,
 * so beside `properties`); the view unchanged without a backend.
 */
export function withBackend(view: ResourceView, backend: BackendAddress | undefined): ResourceView & { readonly backend?: BackendAddress } {
  return backend === undefined ? view : { ...view, backend: { kind: backend.kind, seeds: [...backend.seeds] } };
}

/** How `cardinality` is used by an instance (beside `properties`: not an AIO property). */
export interface CardinalityUse {
  /** True on a local topology (`ops create --backend local`), which runs the frontends and Redis nodes it asks for. */
  readonly applied: boolean;
  readonly note: string;
}

/** Notes of `CardinalityUse`. */
export const CARDINALITY_NOTES = {
  embedded: 'recorded, not applied: an embedded instance is one broker process (ops create --backend local runs the topology cardinality describes)',
  frontend: 'recorded, not applied: this instance is one frontend of a shared backend (run one instance per frontend)',
  local: 'applied: the supervisor runs frontend.replicas x frontend.workers frontends and backendChain.partitions x redundancyFactor Redis nodes',
} as const;

/** The view with `cardinality: { applied, note }` for an embedded instance, a frontend of a shared backend, or a local topology. */
export function withCardinality<V extends ResourceView>(view: V, kind: keyof typeof CARDINALITY_NOTES): V & { readonly cardinality: CardinalityUse } {
  return { ...view, cardinality: { applied: kind === 'local', note: CARDINALITY_NOTES[kind] } };
}

/** A listener, authentication or authorization resource. */
export function subResourceView(kind: SubResourceKind, instance: string, name: string, properties: object): ResourceView {
  const segment = { listener: 'listeners', authentication: 'authentications', authorization: 'authorizations' }[kind];
  return {
    id: `${brokerId(instance)}/${segment}/${name}`,
    name,
    type: RESOURCE_TYPES[kind],
    properties: { ...properties, provisioningState: 'Succeeded' },
    resourceGroup: LOCAL_RESOURCE_GROUP,
  };
}
