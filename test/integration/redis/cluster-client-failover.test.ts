/**
 * kill -9 of a Redis master under a durable write load: the calls pending on it reject at once (no
 * hang), calls resume on the promoted replica, and no acknowledged write is lost.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisClusterClient, type ShortWait } from '../../../src/storage/redis/cluster-client.js';
import { hashSlot } from '../../../src/storage/redis/hash-slot.js';
import { infoFields, redisCli, startRedisCluster, waitUntil, type RedisTestCluster } from '../../helpers/redis-cluster.js';
import { tagsBySlot } from '../../helpers/redis-keys.js';

let cluster: RedisTestCluster;
let redis: RedisClusterClient | undefined;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
});

afterAll(async () => {
  await redis?.close();
  await cluster?.stop();
});

interface Outcome {
  tag: string;
  seq: number;
  start: number;
  end: number;
  ok: boolean;
  code?: string;
}

const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1));

it('kill -9 of a master under load: pending calls reject at once, writes resume on the promoted replica, no acknowledged write lost', async () => {
  const shortWaits: (ShortWait & { at: number })[] = [];
  // The killed master's replica takes over alone (3 × 1): WAIT 1 can then only confirm 0 replicas.
  // Degraded mode is not built yet; its hook stands in for it here (and records when it was needed).
  const client = await RedisClusterClient.connect({
    seeds: cluster.seeds,
    replicas: 1,
    waitTimeoutMs: 500,
    acceptShortWait: (wait) => shortWaits.push({ ...wait, at: Date.now() }) > 0,
  });
  redis = client;
  const tags = tagsBySlot();
  const victimAddress = client.masterOf(0) ?? '';
  const victim = portOf(victimAddress);
  const outcomes: Outcome[] = [];
  let stop = false;
  let seq = 0;

  const worker = async (id: number): Promise<void> => {
    for (let i = 0; !stop; i++) {
      const tag = tags[(id * 7919 + i * 131) % tags.length] as string;
      const own = seq++;
      const start = Date.now();
      try {
        await client.exec(tag, [['RPUSH', `${tag}:log`, own]], { durable: true });
        outcomes.push({ tag, seq: own, start, end: Date.now(), ok: true });
      } catch (error) {
        outcomes.push({ tag, seq: own, start, end: Date.now(), ok: false, code: (error as { code?: string }).code ?? String(error) });
        await new Promise((resolve) => setTimeout(resolve, 20)); // back off, as a store would
      }
    }
  };
  const workers = Array.from({ length: 64 }, (_, id) => worker(id));

  const victimSlots = new Set(tags.map((_, slot) => slot).filter((slot) => client.masterOf(slot) === victimAddress));
  const onVictim = (outcome: Outcome): boolean => victimSlots.has(hashSlot(outcome.tag));
  await waitUntil('1000 acknowledged writes before the kill', async () => outcomes.filter((o) => o.ok).length >= 1000);

  const killedAt = Date.now();
  await cluster.killNode(victim);
  await waitUntil('a write on the killed master’s slots acknowledged after the kill', async () => outcomes.some((o) => o.ok && o.start > killedAt && onVictim(o)), 15_000);
  const recoveredAt = Math.min(...outcomes.filter((o) => o.ok && o.start > killedAt && onVictim(o)).map((o) => o.end));
  const countAfterRecovery = outcomes.length;
  await waitUntil('more load after the recovery', async () => outcomes.length > countAfterRecovery + 500);
  stop = true;
  await Promise.all(workers);

  const pendingAtKill = outcomes.filter((o) => o.start <= killedAt && o.end >= killedAt && onVictim(o));
  const longest = Math.max(...outcomes.map((o) => o.end - o.start));
  const acknowledged = outcomes.filter((o) => o.ok);
  const failed = outcomes.filter((o) => !o.ok);
  const rejectAfterKill = Math.max(0, ...pendingAtKill.map((o) => o.end - killedAt));
  console.log(
    `kill -9 of master ${victim}: ${acknowledged.length} writes acknowledged, ${failed.length} not (${[...new Set(failed.map((o) => o.code))].join(', ')}); ` +
      `${pendingAtKill.length} pending on it at the kill, all settled within ${rejectAfterKill} ms; ` +
      `writes on its slots acknowledged again ${recoveredAt - killedAt} ms after the kill; longest call ${longest} ms; ` +
      `degraded-mode hook called ${shortWaits.length} times`,
  );

  expect(pendingAtKill.length).toBeGreaterThan(0);
  expect(rejectAfterKill).toBeLessThan(1000); // rejected at once, not after a timeout
  // group commit: a call waits at most for the batch in flight and its own, each at most a WAIT timeout (500 ms)
  expect(longest).toBeLessThan(3000);
  expect(recoveredAt - killedAt).toBeLessThan(5000); // the failover (~2 s) plus a topology refresh
  // the degraded-mode hook was needed only for the orphaned partition, and only after the kill
  expect(shortWaits.length).toBeGreaterThan(0);
  expect(shortWaits.every((wait) => wait.at > killedAt && wait.node !== victimAddress && wait.acknowledged === 0)).toBe(true);
  expect(new Set(shortWaits.map((wait) => wait.node)).size).toBe(1);

  // no acknowledged write lost: every acknowledged entry is in its list
  const byTag = new Map<string, number[]>();
  for (const outcome of acknowledged) byTag.set(outcome.tag, [...(byTag.get(outcome.tag) ?? []), outcome.seq]);
  let lost = 0;
  for (const [tag, seqs] of byTag) {
    const [list] = await client.exec(tag, [['LRANGE', `${tag}:log`, 0, -1]]);
    const stored = new Set(Array.isArray(list) ? list.map((item) => (Buffer.isBuffer(item) ? Number(item.toString()) : NaN)) : []);
    lost += seqs.filter((s) => !stored.has(s)).length;
  }
  expect(lost).toBe(0);

  // the killed node comes back as a replica of the new master: WAIT is satisfied again
  await cluster.restartNode(victim);
  await waitUntil('the restarted node to be an in-sync replica', async () => {
    const replication = infoFields(await redisCli(victim, 'INFO', 'replication'));
    return replication.get('role') === 'slave' && replication.get('master_link_status') === 'up';
  });
  const victimTag = tags[[...victimSlots][0] as number] as string;
  // ... as its new master sees it too (the replica's side says `up` a moment before the master lists it online)
  const promoted = portOf(client.masterOf([...victimSlots][0] as number) ?? '');
  await waitUntil('the promoted master to list the replica online', async () => /slave0:.*state=online/.test(await redisCli(promoted, 'INFO', 'replication')));
  const hooked = shortWaits.length;
  await client.exec(victimTag, [['RPUSH', `${victimTag}:log`, -1]], { durable: true });
  expect(shortWaits.length).toBe(hooked);
}, 60_000);
