/**
 * The state store of a cluster (issue 15, acceptance 7) with real `ops-broker` frontends: one
 * frontend leads (`ssl:{statestore}`), clients on the others are served by it, and when the leader
 * is SIGKILLed another frontend serves within the lease bound, with the persisted keys, and fencing
 * tokens above every earlier one. `ops state` on one frontend reads what it set on another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareHlc, parseHlc, type Hlc } from '../../src/shared/hlc-text.js';
import { connectClient } from '../helpers/cli-mqtt.js';
import { startFrontends, type ClusterFrontends, type FrontendProcess } from '../helpers/cluster-frontends.js';
import { redisCli } from '../helpers/redis-cluster.js';
import { StateStoreTestClient, type Reply } from '../helpers/state-store-client.js';

/** The production lease (src/server/state-store-leader.ts): 5 s, renewed every second. */
const LEASE_MS = 5000;
const RENEW_MS = 1000;

let cluster: ClusterFrontends;
const ends: (() => void)[] = [];

beforeAll(async () => {
  cluster = await startFrontends({ frontends: 3, persistence: { maxSize: '200M', stateStore: { mode: 'All' } } });
}, 120_000);

afterAll(async () => {
  for (const end of ends) end();
  await cluster?.stop();
}, 60_000);

async function storeClient(frontend: FrontendProcess, name: string): Promise<StateStoreTestClient> {
  const c = await StateStoreTestClient.connect({ connect: (options) => connectClient(frontend.port, options ?? {}) }, `${name}-${frontend.name}`);
  ends.push(() => c.client.end(true));
  await c.untilServed(); // its subscriptions reached the leader's frontend (they spread after SUBACK)
  return c;
}

/** The frontend id holding the state store lease (null when none). */
async function leaseHolder(): Promise<string | null> {
  const out = (await redisCli(Number(cluster.redis.seeds[0]!.split(':')[1]), '-c', 'GET', 'ssl:{statestore}')).trim();
  return out === '' ? null : out;
}

async function clusterStats(f: FrontendProcess): Promise<{ frontendId: string; stateStoreLeader: boolean } | undefined> {
  return (await cluster.home.json<{ cluster?: { frontendId: string; stateStoreLeader: boolean } }>('broker', 'stats', '--instance', f.name)).cluster;
}

function hlc(reply: Reply): Hlc {
  const h = reply.ts === undefined ? undefined : parseHlc(reply.ts);
  if (h === undefined) throw new Error(`no __ts in the reply ${reply.text}`);
  return h;
}

describe('the cluster state store with real frontends', () => {
  it('the leader is SIGKILLed: another frontend serves within the lease bound, with the persisted keys and higher fencing tokens', async () => {
    const holder = await leaseHolder();
    expect(holder).toMatch(/^[A-Za-z0-9_-]{16}$/);
    const stats = await Promise.all(cluster.frontends.map(clusterStats));
    const ids = stats.map((st) => st?.frontendId ?? '');
    const leaderIndex = ids.indexOf(holder!);
    expect(leaderIndex).toBeGreaterThanOrEqual(0);
    // `ops broker stats` says which frontend runs the state store.
    expect(stats.map((st) => st?.stateStoreLeader)).toEqual(cluster.frontends.map((_, i) => i === leaderIndex));
    const leader = cluster.frontends[leaderIndex]!;
    const others = cluster.frontends.filter((f) => f !== leader);
    const [a, b] = await Promise.all(others.map((f) => storeClient(f, 'kill')));

    // Served from both non-leader frontends; a lock and a value, persisted by the policy (stateStore All).
    expect((await a!.invoke(['SET', 'kept', 'persisted-value'])).text).toBe('+OK\r\n');
    expect((await b!.invoke(['GET', 'kept'])).text).toBe('$15\r\npersisted-value\r\n');
    const lock = await a!.invoke(['SET', 'lock', 'a', 'NX', 'PX', '120000']);
    expect(lock.text).toBe('+OK\r\n');
    expect((await b!.invoke(['SET', 'lock', 'b', 'NX', 'PX', '120000'])).text).toBe(':-1\r\n');
    // `ops state` on one non-leader frontend, read back on the other and by the clients (one store).
    const [oa, ob] = others;
    expect((await cluster.home.ops('state', 'set', '-k', 'color', '--value', 'red', '--instance', oa!.name)).exitCode).toBe(0);
    expect((await cluster.home.ops('state', 'get', '-k', 'color', '--instance', ob!.name)).stdout).toBe('red');
    expect((await a!.invoke(['GET', 'color'])).text).toBe('$3\r\nred\r\n');

    await leader.kill9();
    const killedAt = Date.now();
    // Requests sent before a survivor leads are lost with the dead leader's inbox: the client retries.
    let got: Reply | undefined;
    while (got === undefined) {
      got = await b!.invoke(['GET', 'kept']).catch(() => undefined);
      if (Date.now() - killedAt > 4 * LEASE_MS) throw new Error('no frontend served the state store after the leader died');
    }
    const servedAfter = Date.now() - killedAt;
    expect(got.text).toBe('$15\r\npersisted-value\r\n');
    // The lease expires (LEASE_MS), a survivor takes it at its next attempt (RENEW_MS); the client's retry waits up to 5 s more.
    expect(servedAfter).toBeLessThan(LEASE_MS + RENEW_MS + 5000 + 2000);
    expect(ids).toContain(await leaseHolder());
    expect(await leaseHolder()).not.toBe(holder);
    const after = await Promise.all(others.map(clusterStats));
    expect(after.filter((st) => st?.stateStoreLeader === true).map((st) => st?.frontendId)).toEqual([await leaseHolder()]);

    // The lock survived with its holder; after its release a new lock's token is above the old one.
    expect((await b!.invoke(['SET', 'lock', 'b', 'NX', 'PX', '120000'])).text).toBe(':-1\r\n');
    expect((await a!.invoke(['VDEL', 'lock', 'a'])).text).toBe(':1\r\n');
    const next = await b!.invoke(['SET', 'lock', 'b', 'NX', 'PX', '120000']);
    expect(next.text).toBe('+OK\r\n');
    expect(compareHlc(hlc(next), hlc(lock))).toBeGreaterThan(0);
    expect((await cluster.home.ops('state', 'get', '-k', 'color', '--instance', ob!.name)).stdout).toBe('red');
  }, 90_000);
});
