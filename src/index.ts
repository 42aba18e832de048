/** ops-broker's embeddable API. */
export { Broker, createBroker, type AttachOptions, type CreateBrokerOptions, type ListenAddress } from './broker/broker.js';
export { MEMORY_PROFILES, resolveBrokerOptions } from './broker/broker-options.js';
export type { BrokerOptions, ClientLimits, MemoryProfile, ResolvedBrokerOptions } from './broker/broker-options.js';
export type { BrokerStats } from './broker/stats.js';
export type { AuthenticationRequest, AuthenticationResult, BrokerHooks, ClientIdentity, ConnectionInfo } from './broker/hooks.js';
export type { BrokerStore } from './storage/broker-store.js';
export { PERSIST_EVERYTHING, type PersistenceDecisions } from './broker/persistence-decisions.js';
export { MemoryBrokerStore } from './storage/memory/memory-broker-store.js';
export type { Logger } from './shared/log.js';
