/**
 * The leader lease (src/cluster/leader-lease.ts) on a real Redis Cluster (3 masters, no replicas): one holder among several,
 * the mark handed to the next holder, a clean hand-over, and a holder cut off from the backend (its
 * calls hang) stepping down before its lease can be taken by another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaderLease } from '../../../src/cluster/leader-lease.js';
import { silentLogger } from '../../../src/shared/log.js';
import type { RedisClusterCommands, RedisCommand, RedisReply } from '../../../src/storage/redis/cluster-commands.js';
import { RedisClusterClient } from '../../../src/storage/redis/cluster-client.js';
import { startRedisCluster, waitUntil, type RedisTestCluster } from '../../helpers/redis-cluster.js';

const LEASE_MS = 600;
const RENEW_MS = 100;

let redis: RedisTestCluster;
const leases: LeaderLease[] = [];
const clients: RedisClusterClient[] = [];

beforeAll(async () => {
  redis = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
}, 60_000);

afterAll(async () => {
  for (const lease of leases) await lease.close();
  for (const client of clients) await client.close();
  await redis?.stop();
});

/** A connection whose calls can be made to hang (a frontend cut off from the backend). */
class Switchable implements RedisClusterCommands {
  cut = false;
  constructor(readonly inner: RedisClusterClient) {}
  exec(slotKey: string, commands: readonly RedisCommand[], options?: { durable?: boolean }): Promise<RedisReply[]> {
    if (this.cut) return new Promise<RedisReply[]>(() => undefined);
    return this.inner.exec(slotKey, commands, options);
  }
  execOnMasters(command: RedisCommand): Promise<RedisReply[]> {
    return this.inner.execOnMasters(command);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

interface Candidate {
  readonly id: string;
  readonly lease: LeaderLease;
  readonly redis: Switchable;
  readonly events: string[];
  /** Marks received at each election. */
  readonly marks: (string | null)[];
  leading: boolean;
  electedAt: number;
  deposedAt: number;
}

async function candidate(id: string, key: string, mark: () => string): Promise<Candidate> {
  const client = await RedisClusterClient.connect({ seeds: redis.seeds, replicas: 0 });
  clients.push(client);
  const conn = new Switchable(client);
  const c: Partial<Candidate> & { events: string[]; marks: (string | null)[]; leading: boolean; electedAt: number; deposedAt: number } = {
    id,
    redis: conn,
    events: [],
    marks: [],
    leading: false,
    electedAt: 0,
    deposedAt: 0,
  };
  const lease = LeaderLease.start({
    redis: conn,
    key,
    markKey: `${key}:mark`,
    holderId: id,
    logger: silentLogger,
    leaseMs: LEASE_MS,
    renewMs: RENEW_MS,
    mark,
    onElected: async (m) => {
      c.events.push('elected');
      c.marks.push(m === null ? null : m.toString());
      c.leading = true;
      c.electedAt = Date.now();
    },
    onDeposed: async () => {
      c.events.push('deposed');
      c.leading = false;
      c.deposedAt = Date.now();
    },
  });
  leases.push(lease);
  return Object.assign(c, { lease }) as Candidate;
}

describe('leader lease', () => {
  it('one holder among three; a clean close hands over with the mark; a cut-off holder steps down before another takes over', async () => {
    const key = 'lt:{lease1}';
    let clock = 0;
    const all = await Promise.all(['a', 'b', 'c'].map((id) => candidate(id, key, () => `mark-${id}-${++clock}`)));
    await waitUntil('a leader', async () => all.some((c) => c.leading), 5000);
    // Several renewal rounds: still exactly one.
    const first = all.find((c) => c.leading)!;
    await waitUntil('renewals', async () => clock >= 5, 5000);
    expect(all.filter((c) => c.leading)).toEqual([first]);
    expect(first.lease.leading).toBe(true);
    expect(first.marks).toEqual([null]);

    // Clean close: deposed, lease given up with a last mark; another takes over and reads it.
    await first.lease.close();
    expect(first.events).toEqual(['elected', 'deposed']);
    await waitUntil('a second leader', async () => all.some((c) => c !== first && c.leading), 5000);
    const second = all.find((c) => c !== first && c.leading)!;
    expect(second.marks[0]).toMatch(new RegExp(`^mark-${first.id}-`));
    expect(all.filter((c) => c.leading)).toEqual([second]);

    // Cut off: its calls hang. It steps down on its own, before the lease expires for the others.
    second.redis.cut = true;
    const cutAt = Date.now();
    await waitUntil('the cut-off leader to step down', async () => !second.leading, 5000);
    await waitUntil('a third leader', async () => all.some((c) => c !== first && c !== second && c.leading), 5000);
    const third = all.find((c) => c !== first && c !== second && c.leading)!;
    expect(second.deposedAt).toBeLessThanOrEqual(third.electedAt);
    expect(second.deposedAt - cutAt).toBeLessThan(LEASE_MS);
    expect(third.electedAt - cutAt).toBeGreaterThanOrEqual(LEASE_MS - RENEW_MS - 50);
    expect(second.lease.leading).toBe(false);
  }, 30_000);
});
