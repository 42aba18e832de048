/**
 * Types of the four AIO resources' `properties` as ops-broker stores them. They mirror
 * schemas/*.schema.json (the schemas are the source of truth; test/unit/config checks the fixtures
 * against both).
 */

/** `Enabled` / `Disabled` switch used all over the AIO API. */
export type OperationalMode = 'Enabled' | 'Disabled';
/** Persistence mode of one component. */
export type PersistMode = 'None' | 'All' | 'Custom';
/** A persistence component key, as used by `--persist-mode` and `--disable-dynamic`. */
export type PersistComponent = 'stateStore' | 'retain' | 'subscriberQueue';
/** Log levels accepted by `diagnostics.logs.level`. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** `{ mode }` of dynamic (client-requested) persistence. */
export interface DynamicMode {
  mode: OperationalMode;
}

/** `persistence.retain`. */
export interface RetainPolicy {
  mode: PersistMode;
  retainSettings?: { topics?: string[]; dynamic?: DynamicMode };
}

/** `persistence.subscriberQueue`. */
export interface SubscriberQueuePolicy {
  mode: PersistMode;
  subscriberQueueSettings?: { subscriberClientIds?: string[]; dynamic?: DynamicMode };
}

/** One group of state-store keys. */
export interface StateStoreResource {
  keyType: 'Pattern' | 'String' | 'Binary';
  keys: string[];
}

/** `persistence.stateStore`. */
export interface StateStorePolicy {
  mode: PersistMode;
  stateStoreSettings?: { stateStoreResources?: StateStoreResource[]; dynamic?: DynamicMode };
}

/** `persistence.dynamicSettings`: the MQTT v5 user property that asks for persistence. */
export interface DynamicSettings {
  userPropertyKey: string;
  userPropertyValue: string;
}

/** `persistence` of the Broker resource. */
export interface Persistence {
  maxSize: string;
  persistentVolumeClaimSpec?: Record<string, unknown>;
  encryption?: { mode: OperationalMode };
  retain?: RetainPolicy;
  subscriberQueue?: SubscriberQueuePolicy;
  stateStore?: StateStorePolicy;
  dynamicSettings?: DynamicSettings;
}

/** `advanced.clients`. */
export interface ClientSettings {
  maxSessionExpirySeconds?: number;
  maxMessageExpirySeconds?: number;
  maxPacketSizeBytes?: number;
  maxReceiveMaximum?: number;
  maxKeepAliveSeconds?: number;
  subscriberQueueLimit?: { length?: number; strategy?: 'None' | 'DropOldest' };
}

/** `diagnostics`. */
export interface Diagnostics {
  logs?: { level?: LogLevel };
  metrics?: { prometheusPort?: number };
  selfCheck?: Record<string, unknown>;
  traces?: Record<string, unknown>;
}

/** `properties` of the Broker resource. */
export interface BrokerProperties {
  memoryProfile?: 'Tiny' | 'Low' | 'Medium' | 'High';
  cardinality?: {
    backendChain: { partitions: number; redundancyFactor: number; workers?: number };
    frontend: { replicas: number; workers?: number };
  };
  generateResourceLimits?: { cpu?: OperationalMode };
  advanced?: { clients?: ClientSettings; encryptInternalTraffic?: OperationalMode; internalCerts?: Record<string, unknown> };
  diagnostics?: Diagnostics;
  diskBackedMessageBuffer?: Record<string, unknown> & { maxSize: string };
  persistence?: Persistence;
}

/** One port of a listener. */
export interface ListenerPort {
  port: number;
  nodePort?: number;
  protocol?: 'Mqtt' | 'WebSockets';
  authenticationRef?: string;
  authorizationRef?: string;
  tls?: { mode: 'Automatic' | 'Manual'; certManagerCertificateSpec?: Record<string, unknown>; manual?: { secretRef: string } };
}

/** `properties` of a BrokerListener. */
export interface ListenerProperties {
  serviceName?: string;
  serviceType?: 'ClusterIp' | 'LoadBalancer' | 'NodePort';
  ports: ListenerPort[];
}

/** `properties` of a BrokerAuthentication (kept opaque past the schema). */
export interface AuthenticationProperties {
  authenticationMethods: Array<Record<string, unknown> & { method: string }>;
}

/** `properties` of a BrokerAuthorization (kept opaque past the schema). */
export interface AuthorizationProperties {
  authorizationPolicies: Record<string, unknown>;
}

/** The kinds of resource a config file can describe. */
export type ResourceKind = 'broker' | 'listener' | 'authentication' | 'authorization';

/** Maps each kind to its properties type. */
export interface ResourcePropertiesByKind {
  broker: BrokerProperties;
  listener: ListenerProperties;
  authentication: AuthenticationProperties;
  authorization: AuthorizationProperties;
}
