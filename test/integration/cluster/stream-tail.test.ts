/**
 * StreamTail on a real Redis Cluster (3 masters × 1 replica): order, COUNT and back-pressure,
 * defensive parsing, a killed connection, the gap check, and kill -9 of the stream's master.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { StreamTail, type StreamEntry } from '../../../src/cluster/stream-tail.js';
import { RedisClusterClient } from '../../../src/storage/redis/cluster-client.js';
import { hashSlot } from '../../../src/storage/redis/hash-slot.js';
import { recordingLogger } from '../../helpers/recording-logger.js';
import { redisCli, startRedisCluster, waitUntil, type RedisTestCluster } from '../../helpers/redis-cluster.js';

let cluster: RedisTestCluster;
let client: RedisClusterClient;
const tails: StreamTail[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  // The killed master's replica takes over alone (3 × 1): WAIT 1 then confirms 0 (degraded mode stands in).
  client = await RedisClusterClient.connect({ seeds: cluster.seeds, replicas: 1, waitTimeoutMs: 100, acceptShortWait: () => true });
}, 60_000);

afterAll(async () => {
  for (const tail of tails) await tail.close();
  await client?.close();
  await cluster?.stop();
});

const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1));

function tailOf(key: string, onEntries: (entries: readonly StreamEntry[]) => Promise<void> | void, extra: Partial<ConstructorParameters<typeof StreamTail>[0]> = {}): StreamTail {
  const tail = new StreamTail({ client, key, logger: recordingLogger(), onEntries, blockMs: 200, ...extra });
  tails.push(tail);
  return tail;
}

async function add(key: string, ...fields: string[]): Promise<string> {
  const [reply] = await client.exec(key, [['XADD', key, '*', ...fields]], { durable: true });
  if (!Buffer.isBuffer(reply)) throw new Error(`XADD failed: ${String(reply)}`);
  return reply.toString('latin1');
}

it('hands over every entry after the start id in order, in batches of at most COUNT, one batch at a time', async () => {
  const key = 'st:{order}';
  const before = await add(key, 'n', '-1');
  const seen: number[] = [];
  const sizes: number[] = [];
  let active = 0;
  let maxActive = 0;
  let release: (() => void) | undefined;
  const tail = tailOf(
    key,
    async (entries) => {
      active++;
      maxActive = Math.max(maxActive, active);
      sizes.push(entries.length);
      for (const entry of entries) seen.push(Number(entry.fields.get('n')?.toString()));
      if (seen.length === entries.length) await new Promise<void>((resolve) => (release = resolve)); // hold the first batch
      active--;
    },
    { count: 7 },
  );
  tail.start(before);
  await add(key, 'n', '0');
  await waitUntil('the first batch', async () => release !== undefined);
  for (let i = 1; i < 100; i++) await add(key, 'n', String(i));
  // While the first batch is held, nothing more is read.
  expect(seen).toEqual([0]);
  release?.();
  await waitUntil('all 100 entries', async () => seen.length >= 100);
  expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i));
  expect(Math.max(...sizes)).toBeLessThanOrEqual(7);
  expect(sizes.length).toBeGreaterThanOrEqual(15);
  expect(maxActive).toBe(1);
  expect(tail.lastId).not.toBe(before);
});

it('skips an entry with a field given twice (logged) and goes on after it', async () => {
  const key = 'st:{dup}';
  const logger = recordingLogger();
  const seen: string[] = [];
  const tail = tailOf(key, (entries) => void seen.push(...entries.map((e) => e.fields.get('n')?.toString() ?? '?')), { logger });
  tail.start('0-0');
  await add(key, 'n', 'a');
  const bad = await add(key, 'n', 'b', 'n', 'c'); // Redis keeps both fields
  await add(key, 'n', 'd');
  await waitUntil('the good entries', async () => seen.length >= 2);
  expect(seen).toEqual(['a', 'd']);
  expect(logger.warnings.some((w) => w.fields['id'] === bad && /malformed fields/.test(w.message))).toBe(true);
});

it('reconnects after its connection is killed and reads on from the last id (nothing lost, nothing twice)', async () => {
  const key = 'st:{kill}';
  const seen: number[] = [];
  const tail = tailOf(key, (entries) => void seen.push(...entries.map((e) => Number(e.fields.get('n')?.toString()))));
  tail.start('0-0');
  for (let i = 0; i < 10; i++) await add(key, 'n', String(i));
  await waitUntil('10 entries', async () => seen.length >= 10);
  const port = portOf(client.masterOf(hashSlot(key)) ?? '');
  await redisCli(port, 'CLIENT', 'KILL', 'TYPE', 'normal');
  for (let i = 10; i < 20; i++) {
    for (;;) {
      try {
        await add(key, 'n', String(i));
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 20)); // the shared client's connection was killed too
      }
    }
  }
  await waitUntil('20 entries', async () => seen.length >= 20);
  expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i));
});

it('calls onGap when the stream was trimmed past the last id processed, and reads on from the id it returns', async () => {
  const key = 'st:{gap}';
  const seen: string[] = [];
  const gaps: string[] = [];
  let hold: Promise<void> | undefined;
  let release: (() => void) | undefined;
  const tail = tailOf(
    key,
    async (entries) => {
      seen.push(...entries.map((e) => e.fields.get('n')?.toString() ?? '?'));
      if (hold !== undefined) await hold;
    },
    {
      onGap: async (lastId, info) => {
        gaps.push(lastId);
        expect(info.firstEntryId).toBeDefined();
        return info.lastGeneratedId;
      },
    },
  );
  tail.start('0-0');
  hold = new Promise<void>((resolve) => (release = resolve));
  const first = await add(key, 'n', 'first');
  await waitUntil('the first entry (held)', async () => seen.length === 1);
  for (let i = 0; i < 10; i++) await add(key, 'n', `missed${i}`);
  await client.exec(key, [['XTRIM', key, 'MAXLEN', '2']], { durable: true });
  hold = undefined;
  release?.();
  await waitUntil('the gap', async () => gaps.length === 1);
  expect(gaps).toEqual([first]);
  await add(key, 'n', 'after');
  await waitUntil('the entry after the gap', async () => seen.includes('after'));
  expect(seen).toEqual(['first', 'after']);
  // Not trimmed past: no gap (the stream's first entries are before the last id).
  await add(key, 'n', 'again');
  await waitUntil('the next entry', async () => seen.includes('again'));
  expect(gaps.length).toBe(1);
});

it('kill -9 of the stream’s master: entries written after the failover still arrive, every acknowledged one exactly once, in order', async () => {
  const key = 'st:{failover}';
  const slot = hashSlot(key);
  const seen: number[] = [];
  const tail = tailOf(key, (entries) => void seen.push(...entries.map((e) => Number(e.fields.get('n')?.toString()))), { blockMs: 300 });
  tail.start('0-0');
  const acknowledged: number[] = [];
  let next = 0;
  let stop = false;
  const writer = (async () => {
    while (!stop) {
      const n = next++;
      try {
        await add(key, 'n', String(n));
        acknowledged.push(n);
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  })();
  await waitUntil('200 entries read before the kill', async () => seen.length >= 200);
  const victim = client.masterOf(slot) ?? '';
  await cluster.killNode(portOf(victim));
  const killedAt = next;
  await waitUntil('a new master for the slot', async () => {
    await client.refreshTopology();
    return client.masterOf(slot) !== victim;
  }, 20_000);
  // Each write waits the whole WAIT timeout now (the promoted replica has no replica): a few suffice.
  await waitUntil('30 acknowledged entries written after the failover', async () => acknowledged.filter((n) => n > killedAt).length >= 30, 20_000);
  stop = true;
  await writer;
  const last = acknowledged[acknowledged.length - 1] ?? -1;
  await waitUntil('the last acknowledged entry read', async () => seen.includes(last), 20_000);
  // In order, no entry twice, and every acknowledged one read (an unacknowledged one may be there or not).
  for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1] as number);
  const read = new Set(seen);
  expect(acknowledged.filter((n) => !read.has(n))).toEqual([]);
  expect(seen.filter((n) => n > killedAt).length).toBeGreaterThanOrEqual(30);
  await cluster.restartNode(portOf(victim));
}, 60_000);

it('reached(id) resolves once the entries up to id were handed over (their handler done), and false after its timeout for an id not yet written', async () => {
  const key = 'st:{reached}';
  const start = await add(key, 'n', 'start');
  const handled: string[] = [];
  const tail = tailOf(key, async (entries) => {
    for (const entry of entries) handled.push(entry.id);
  });
  tail.start(start);
  expect(await tail.reached(start, 1)).toBe(true); // at or before the start: at once
  const id = await add(key, 'n', 'x');
  expect(await tail.reached(id, 10_000)).toBe(true);
  expect(handled).toContain(id);
  const later = `${Number(id.split('-')[0]) + 60_000}-0`;
  expect(await tail.reached(later, 200)).toBe(false);
});
