/**
 * The subscription directory on a real Redis Cluster (3 masters × 1 replica): frontends see each
 * other's entries through the change stream, a late starter loads them from the hashes, hostile
 * client ids and filters stay out of key names, a corrupt change is skipped, and a frontend that
 * fell behind the stream's trimming rebuilds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newFrontendId } from '../../../src/cluster/frontend-id.js';
import { CHANGE_STREAM_KEY, directoryHashKey, encodeField, encodeOptions, FRONTEND_SET_KEY } from '../../../src/cluster/directory-codec.js';
import { SubscriptionDirectory, type DirectoryEntry } from '../../../src/cluster/subscription-directory.js';
import { RedisClusterClient } from '../../../src/storage/redis/cluster-client.js';
import { hashSlot } from '../../../src/storage/redis/hash-slot.js';
import { recordingLogger } from '../../helpers/recording-logger.js';
import { redisCli, startRedisCluster, waitUntil, type RedisTestCluster } from '../../helpers/redis-cluster.js';

let cluster: RedisTestCluster;
let client: RedisClusterClient;
const directories: SubscriptionDirectory[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  client = await RedisClusterClient.connect({ seeds: cluster.seeds, replicas: 1 });
}, 60_000);

afterAll(async () => {
  for (const directory of directories) await directory.close();
  await client?.close();
  await cluster?.stop();
});

async function open(id = newFrontendId(), logger = recordingLogger()): Promise<SubscriptionDirectory & { id: string; logger: typeof logger }> {
  const directory = await SubscriptionDirectory.start({ client, frontendId: id, logger, blockMs: 200 });
  directories.push(directory);
  return Object.assign(directory, { id, logger });
}

const options = { qos: 1 as const, noLocal: false, retainAsPublished: false };

/** What `directory` matches for `topic`: plain entries as `client|filter|owner`, groups as `group|topicFilter|client@owner,...`. */
function matches(directory: SubscriptionDirectory, topic: string): { plain: string[]; groups: string[] } {
  const plain: string[] = [];
  const groups: string[] = [];
  directory.match(
    topic,
    (e) => plain.push(`${e.clientId}|${e.filter}|${e.owner}`),
    (group, topicFilter, members) => groups.push(`${group}|${topicFilter}|${members.map((m) => `${m.clientId}@${m.owner}`).sort().join(',')}`),
  );
  return { plain: plain.sort(), groups: groups.sort() };
}

/** Every key on every master. */
async function allKeys(): Promise<string[]> {
  const keys: string[] = [];
  for (const master of client.masters) {
    const port = Number(master.slice(master.lastIndexOf(':') + 1));
    keys.push(...(await redisCli(port, '--scan')).split('\n').filter((k) => k !== ''));
  }
  return keys.sort();
}

describe('SubscriptionDirectory', () => {
  let a: Awaited<ReturnType<typeof open>>;
  let b: Awaited<ReturnType<typeof open>>;
  let c: Awaited<ReturnType<typeof open>>;

  beforeAll(async () => {
    a = await open();
    b = await open();
    c = await open();
  });

  it('another frontend sees put entries through the stream, wildcards included; own plain entries are not matched', async () => {
    await a.put({ clientId: 'w1', filter: 'home/+/temp', ...options, subscriptionId: 7 });
    await a.put({ clientId: 'w2', filter: 'home/#', qos: 2, noLocal: true, retainAsPublished: true });
    await a.put({ clientId: 'w3', filter: 'other/x', ...options });
    await waitUntil('b to see a’s entries', async () => b.ownerOf('w3') === a.id);
    expect(matches(b, 'home/kitchen/temp').plain).toEqual([`w1|home/+/temp|${a.id}`, `w2|home/#|${a.id}`]);
    expect(matches(b, 'home').plain).toEqual([`w2|home/#|${a.id}`]);
    expect(matches(b, 'other/x').plain).toEqual([`w3|other/x|${a.id}`]);
    expect(matches(a, 'home/kitchen/temp').plain).toEqual([]); // remote entries only
    const got: DirectoryEntry[] = [];
    b.match('home/k/temp', (e) => got.push(e), () => undefined);
    expect(got.find((e) => e.clientId === 'w1')).toEqual({ clientId: 'w1', owner: a.id, filter: 'home/+/temp', qos: 1, noLocal: false, retainAsPublished: false, subscriptionId: 7 });
    expect(got.find((e) => e.clientId === 'w2')).toMatchObject({ qos: 2, noLocal: true, retainAsPublished: true, subscriptionId: undefined });
    // A put again replaces the options.
    await a.put({ clientId: 'w1', filter: 'home/+/temp', qos: 0, noLocal: true, retainAsPublished: false });
    await waitUntil('the new options', async () => {
      let qos = -1;
      b.match('home/k/temp', (e) => {
        if (e.clientId === 'w1') qos = e.qos;
      }, () => undefined);
      return qos === 0;
    });
    expect(matches(b, 'home/k/temp').plain.filter((m) => m.startsWith('w1|'))).toHaveLength(1);
  });

  it('shared groups are reported with their members from every frontend, to frontends that have a remote member', async () => {
    await a.put({ clientId: 'sa', filter: '$share/g/jobs/+', ...options });
    await b.put({ clientId: 'sb', filter: '$share/g/jobs/+', ...options });
    await c.put({ clientId: 'sc', filter: '$share/g/jobs/+', ...options });
    await c.put({ clientId: 'sc', filter: '$share/solo/jobs/#', ...options });
    await waitUntil('every frontend to see the three members and the solo group', async () =>
      [a, b, c].every((d) => ['sa', 'sb', 'sc'].every((id) => d.ownerOf(id) !== undefined)) && [a, b].every((d) => matches(d, 'jobs/1').groups.length === 2),
    );
    const members = `sa@${a.id},sb@${b.id},sc@${c.id}`;
    for (const d of [a, b]) expect(matches(d, 'jobs/1')).toEqual({ plain: [], groups: [`g|jobs/+|${[`sa@${a.id}`, `sb@${b.id}`, `sc@${c.id}`].sort().join(',')}`, `solo|jobs/#|sc@${c.id}`] });
    // c's only member of 'solo' is its own: the local engine's business.
    expect(matches(c, 'jobs/1').groups).toEqual([`g|jobs/+|${members.split(',').sort().join(',')}`]);
    await b.remove('sb', '$share/g/jobs/+');
    await waitUntil('a to see sb leave', async () => a.ownerOf('sb') === undefined);
    expect(matches(a, 'jobs/1').groups[0]).toBe(`g|jobs/+|${[`sa@${a.id}`, `sc@${c.id}`].sort().join(',')}`);
  });

  it('remove, removeClient and removeFrontend propagate; ownerOf follows a client that moved', async () => {
    const x = await open();
    await x.put({ clientId: 'm1', filter: 'm/1', ...options });
    await x.put({ clientId: 'm1', filter: 'm/2', ...options });
    await x.put({ clientId: 'm2', filter: 'm/#', ...options });
    await x.put({ clientId: 'm3', filter: 'm/3', ...options });
    await waitUntil('b to see x’s entries', async () => b.ownerOf('m3') === x.id);
    await x.remove('m1', 'm/1');
    await waitUntil('the removal', async () => !matches(b, 'm/1').plain.some((m) => m.startsWith('m1|')));
    expect(matches(b, 'm/2').plain).toContain(`m1|m/2|${x.id}`);
    // m1 moves from x to c: c puts, then x lets go.
    await c.put({ clientId: 'm1', filter: 'm/2', ...options });
    await x.removeClient('m1');
    await waitUntil('b to see m1 on c only', async () => b.ownerOf('m1') === c.id && matches(b, 'm/2').plain.filter((m) => m.startsWith('m1|')).length === 1);
    expect(matches(b, 'm/2').plain).toContain(`m1|m/2|${c.id}`);
    const sizeBefore = b.size;
    await b.removeFrontend(x.id);
    expect(b.ownerOf('m2')).toBeUndefined();
    await waitUntil('a to drop x’s entries', async () => a.ownerOf('m2') === undefined && a.ownerOf('m3') === undefined);
    expect(b.size).toBe(sizeBefore - 2);
    expect(await allKeys()).not.toContain(directoryHashKey(x.id));
    await expect(b.removeFrontend('no{braces}')).rejects.toThrow(RangeError);
  });

  it('visibleEverywhere resolves once every named frontend applied the change (their acks), and false after the timeout for one that never does', async () => {
    const a = await open();
    const b = await open();
    const c = await open();
    const id = await a.put({ clientId: 'seen-everywhere', filter: 'v/+', ...options });
    // b and c tail the stream, apply the put, and ack it: then b and c see the entry.
    expect(await a.visibleEverywhere(id, () => [a.id, b.id, c.id], 10_000)).toBe(true);
    expect(matches(b, 'v/1').plain).toEqual([`seen-everywhere|v/+|${a.id}`]);
    expect(matches(c, 'v/1').plain).toEqual([`seen-everywhere|v/+|${a.id}`]);
    // A frontend that is not there never acks: the wait ends at its timeout, false.
    const started = Date.now();
    expect(await a.visibleEverywhere(id, () => [b.id, newFrontendId()], 300)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    // Already applied everywhere: at once.
    expect(await a.visibleEverywhere(id, () => [b.id, c.id], 1)).toBe(true);
  });

  it('a directory started later loads every existing entry, its own hash included', async () => {
    await a.put({ clientId: 'late1', filter: 'late/+', ...options });
    const late = await open();
    expect(late.size).toBe(a.size);
    expect(late.ownerOf('late1')).toBe(a.id);
    expect(matches(late, 'jobs/9').groups).toEqual(matches(b, 'jobs/9').groups);
    expect(matches(late, 'home/k/temp')).toEqual(matches(c, 'home/k/temp'));
    // A restart under the same id loads its own entries from its hash.
    const again = await open(a.id);
    expect(again.ownerOf('late1')).toBe(a.id);
    expect(matches(again, 'late/x').plain).toEqual([]);
  });

  it('hostile client ids and filters (braces, NUL, lone surrogates, 64 KB) round-trip and never reach a key name', async () => {
    const hostile = ['{x}', 'a}{b', '\u0000nul\u0000', '\ud800lone', 'ü{', 'x'.repeat(65_535)];
    const filters = ['{t}/+', 'a/\u0000/#', `${'f'.repeat(65_000)}/+`];
    for (const clientId of hostile) for (const filter of filters) await a.put({ clientId, filter, ...options });
    const matchedOnB = (): Set<string> => {
      const got = new Set<string>();
      for (const topic of ['{t}/1', 'a/\u0000/z', `${'f'.repeat(65_000)}/q`]) b.match(topic, (e) => got.add(JSON.stringify([e.clientId, e.filter])), () => undefined);
      return got;
    };
    const all = hostile.flatMap((clientId) => filters.map((filter) => JSON.stringify([clientId, filter])));
    // Every pair, not only every client id: a client's first filter can be applied on b a batch before its last.
    await waitUntil('b to match every hostile entry', async () => {
      const got = matchedOnB();
      return all.every((pair) => got.has(pair));
    });
    for (const clientId of hostile) expect(b.ownerOf(clientId)).toBe(a.id);
    const keys = await allKeys();
    expect(keys.every((key) => /^(sd:\{f:[A-Za-z0-9_-]{16}\}|sc:\{subs\}|sf:\{subs\})$/.test(key))).toBe(true);
    for (const clientId of hostile) await a.removeClient(clientId);
    await waitUntil('b to drop them', async () => hostile.every((id) => b.ownerOf(id) === undefined));
  });

  it('a corrupt change in the stream is logged and skipped; the tail goes on', async () => {
    const port = Number((client.masterOf(hashSlot(CHANGE_STREAM_KEY)) ?? '').split(':').pop());
    const field = encodeField('bad', 'bad/topic').toString();
    await redisCli(port, 'XADD', CHANGE_STREAM_KEY, '*', 'op', 'put', 'o', 'ValidFrontendId0', 'f', 'not json', 'v', '{"q":1,"nl":false,"rap":false}');
    await redisCli(port, 'XADD', CHANGE_STREAM_KEY, '*', 'op', 'put', 'o', 'ValidFrontendId0', 'f', field, 'v', '{"q":3,"nl":false,"rap":false}');
    await redisCli(port, 'XADD', CHANGE_STREAM_KEY, '*', 'op', 'put', 'o', 'bad{owner}', 'f', field, 'v', '{"q":1,"nl":false,"rap":false}');
    await redisCli(port, 'XADD', CHANGE_STREAM_KEY, '*', 'op', 'explode', 'o', 'ValidFrontendId0');
    await redisCli(port, 'XADD', CHANGE_STREAM_KEY, '*', 'op', 'put', 'o', 'ValidFrontendId0', 'f', encodeField('bad', '$share//x').toString(), 'v', '{"q":1,"nl":false,"rap":false}');
    await a.put({ clientId: 'after-corrupt', filter: 'ok/+', ...options });
    await waitUntil('b to see the entry after the corrupt ones', async () => b.ownerOf('after-corrupt') === a.id);
    expect(b.ownerOf('bad')).toBe('ValidFrontendId0'); // the last one is well-formed, its filter is only unmatchable
    expect(matches(b, 'bad/topic').plain).toEqual([]);
    const reasons = b.logger.warnings.filter((w) => /malformed subscription change/.test(w.message)).map((w) => w.fields['reason']);
    expect(reasons).toEqual(['the field is not JSON', 'the QoS is not 0, 1 or 2', 'no valid owner', 'unknown op']);
    await b.removeFrontend('ValidFrontendId0');
  });

  it('a frontend that fell behind the stream’s trimming rebuilds from the hashes', async () => {
    const behind = await open();
    await a.put({ clientId: 'kept', filter: 'r/1', ...options });
    await a.put({ clientId: 'dropped', filter: 'r/2', ...options });
    await waitUntil('behind to see both', async () => behind.ownerOf('kept') === a.id && behind.ownerOf('dropped') === a.id);
    // Changes the stream no longer holds: a new frontend's hash, and an entry gone from a's hash.
    const ghost = 'GhostFrontend000';
    const ghostKey = directoryHashKey(ghost);
    await client.exec(ghostKey, [['HSET', ghostKey, encodeField('ghost-client', 'r/+'), encodeOptions(options)]], { durable: true });
    await client.exec(directoryHashKey(a.id), [['HDEL', directoryHashKey(a.id), encodeField('dropped', 'r/2')]], { durable: true });
    // Their stream entries, trimmed away at once (atomically: no reader sees them).
    await client.exec(CHANGE_STREAM_KEY, [
      ['SADD', FRONTEND_SET_KEY, ghost],
      ['EVAL', "redis.call('XADD', KEYS[1], '*', 'op', 'delf', 'o', 'Whatever0000000'); redis.call('XTRIM', KEYS[1], 'MAXLEN', 0); return 1", 1, CHANGE_STREAM_KEY],
    ], { durable: true });
    expect(behind.ownerOf('ghost-client')).toBeUndefined();
    await waitUntil('the rebuild', async () => behind.rebuilds === 1 && behind.ownerOf('ghost-client') === ghost);
    expect(behind.ownerOf('dropped')).toBeUndefined();
    expect(behind.ownerOf('kept')).toBe(a.id);
    expect(matches(behind, 'r/1').plain).toEqual([`ghost-client|r/+|${ghost}`, `kept|r/1|${a.id}`]);
    expect(behind.logger.warnings.some((w) => /fell behind/.test(w.message))).toBe(true);
    // Every tail saw the stream emptied past it: the others rebuilt too.
    await waitUntil('b rebuilt too', async () => b.rebuilds === 1 && b.ownerOf('ghost-client') === ghost);
    // And the tail goes on after the rebuild.
    await a.put({ clientId: 'after-rebuild', filter: 'r/3', ...options });
    await waitUntil('the change after the rebuild', async () => behind.ownerOf('after-rebuild') === a.id);
    expect(behind.rebuilds).toBe(1);
    await b.removeFrontend(ghost);
  });

  it('memory stays bounded: removing every entry leaves an empty view', async () => {
    const x = await open();
    const y = await open();
    const before = y.indexNodes;
    for (let i = 0; i < 200; i++) await x.put({ clientId: `b${i}`, filter: `bound/${i}/+/#`, ...options });
    await waitUntil('y to see 200', async () => y.ownerOf('b199') === x.id);
    expect(y.indexNodes).toBeGreaterThan(before + 200);
    for (let i = 0; i < 200; i++) await x.removeClient(`b${i}`);
    await waitUntil('y to drop them', async () => y.ownerOf('b199') === undefined);
    expect(y.indexNodes).toBe(before);
  });
});
