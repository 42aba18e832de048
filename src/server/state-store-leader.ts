/**
 * Cluster mode: one state store per cluster (docs/cluster.md, "State store"). Every frontend runs a
 * {@link LeaderLease} on `ssl:{statestore}`; the holder runs the state store service, whose request
 * subscription enters the subscription directory, so requests published on any frontend are
 * forwarded to it, and its responses and notifications are forwarded back like any message. The
 * other frontends run no state store and answer nothing. A new leader loads the persisted keys from
 * the shared store, and starts its clock above the previous leader's high-water mark
 * (`ssh:{statestore}`, written with every lease renewal) and every restored version.
 */
import type { Broker } from '../broker/broker.js';
import { LeaderLease } from '../cluster/leader-lease.js';
import { formatHlc, parseHlc, type Hlc } from '../shared/hlc-text.js';
import type { Logger } from '../shared/log.js';
import { startStateStore, type StateStoreOptions, type StateStoreService } from '../services/state-store/state-store-service.js';
import type { RedisClusterCommands } from '../storage/redis/cluster-commands.js';

/** The state store leader lease: the leading frontend's id, with a TTL. */
export const STATE_STORE_LEASE_KEY = 'ssl:{statestore}';
/** The state store clock's high-water mark (HLC text), written by the leader with each renewal. */
export const STATE_STORE_MARK_KEY = 'ssh:{statestore}';

/** What a frontend's state store leadership needs. */
export interface StateStoreLeaderOptions {
  readonly broker: Broker;
  readonly redis: RedisClusterCommands;
  /** This frontend's id (the lease's value and the HLC node id). */
  readonly frontendId: string;
  readonly logger: Logger;
  /** The service's options (persistence on the shared store, authorization). */
  readonly service: Omit<StateStoreOptions, 'cluster' | 'clockFloor' | 'nodeId' | 'logger'>;
  /** Lease time to live in ms (default 5000): how long the state store is unanswered after its leader dies, at most (plus renewMs). */
  readonly leaseMs?: number;
  /** Renewal and take-over attempt interval in ms (default 1000). */
  readonly renewMs?: number;
}

/** A frontend's part in the state store election. */
export interface StateStoreLeader {
  /** Whether this frontend runs the state store now. */
  readonly leading: boolean;
  /** Keys of this frontend's state store (0 when it does not lead). */
  readonly keyCount: number;
  /** Steps down (the lease is given up, with the clock's mark) and stops trying. */
  close(): Promise<void>;
}

/** The previous leader's mark, read defensively (anything not an HLC is ignored, and logged). */
function readMark(mark: Buffer | null, logger: Logger): Hlc | undefined {
  if (mark === null) return undefined;
  const text = mark.length <= 256 ? mark.toString('latin1') : '';
  const hlc = parseHlc(text);
  if (hlc === undefined) logger.warn({ key: STATE_STORE_MARK_KEY, bytes: mark.length }, 'state store clock mark unreadable: ignored');
  return hlc;
}

/** Starts this frontend's part: it runs the state store whenever it holds the lease. */
export function startStateStoreLeader(options: StateStoreLeaderOptions): StateStoreLeader {
  const { broker, redis, frontendId, logger } = options;
  let service: StateStoreService | undefined;
  /** The clock of this frontend's last term, written as the mark when it gives the lease up. */
  let lastClock: Hlc | undefined;
  const lease = LeaderLease.start({
    redis,
    key: STATE_STORE_LEASE_KEY,
    markKey: STATE_STORE_MARK_KEY,
    holderId: frontendId,
    logger,
    ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}),
    ...(options.renewMs !== undefined ? { renewMs: options.renewMs } : {}),
    mark: () => {
      const clock = service?.clock ?? lastClock;
      return clock === undefined ? '' : formatHlc(clock);
    },
    onElected: async (mark) => {
      const floor = readMark(mark, logger);
      const started = startStateStore(broker, { ...options.service, logger, nodeId: frontendId, cluster: true, ...(floor !== undefined ? { clockFloor: floor } : {}) });
      service = started;
      await started.ready; // persisted keys restored (requests arriving meanwhile wait for it)
      logger.info({ frontendId, keys: started.keyCount }, 'state store leader: serving the cluster state store');
    },
    onDeposed: async () => {
      lastClock = service?.clock;
      service?.stop();
      service = undefined;
      logger.info({ frontendId }, 'state store leader: stepped down');
    },
  });
  return {
    get leading() {
      return lease.leading;
    },
    get keyCount() {
      return service?.keyCount ?? 0;
    },
    close: () => lease.close(),
  };
}
