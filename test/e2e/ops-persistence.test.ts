/**
 * Durable persistence end to end: real bin/ops, real broker processes restarted gracefully and with
 * SIGKILL, the real `mqtt` client. Checks exactly which queued messages, sessions and retained
 * messages come back under each mode, encryption at rest, key handling and damaged stores.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rename, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, eventually, makeOpsHome, portOf, type OpsHome } from '../helpers/cli-ops.js';
import { brokerPid, filesContaining, kill9, opsWithEnv, persistent, record, type Received } from '../helpers/cli-persistence.js';
import { flipValueByte } from '../helpers/raw-level.js';

interface Started {
  pid: number;
  ports: Array<{ listener: string; port: number }>;
  metricsPort: number | null;
}
interface Stats {
  clients: { connected: number };
  disk: { usedBytes: number };
  persistence: { enabled: boolean; encryption: string; maxSizeBytes: number | null };
}

const GiB = 2 ** 30;
const CONFIGS: Record<string, Record<string, unknown>> = {
  qall: { subscriberQueue: { mode: 'All' }, retain: { mode: 'All' } },
  qnone: { encryption: { mode: 'Disabled' }, subscriberQueue: { mode: 'None' }, retain: { mode: 'All' } },
  custom: {
    subscriberQueue: { mode: 'Custom', subscriberQueueSettings: { subscriberClientIds: ['disk-*'] } },
    retain: { mode: 'Custom', retainSettings: { topics: ['keep/#'] } },
  },
  dyn: {
    subscriberQueue: { mode: 'Custom', subscriberQueueSettings: { subscriberClientIds: ['nobody'] } },
    retain: { mode: 'Custom', retainSettings: { topics: ['keep/#', 'also/#'] } },
  },
};

let h: OpsHome;
const port: Record<string, number> = {};
const dir = (instance: string): string => join(h.home, instance);
const payloads = (received: readonly Received[]): string[] => received.map((r) => r.payload);

async function start(instance: string): Promise<Started> {
  const started = await h.json<Started>('broker', 'start', '--instance', instance);
  port[instance] = portOf(started);
  return started;
}
async function stop(instance: string): Promise<void> {
  expect((await h.ops('broker', 'stop', '--instance', instance)).exitCode).toBe(0);
}
async function publish(instance: string, messages: ReadonlyArray<[topic: string, payload: string, opts?: Record<string, unknown>]>): Promise<void> {
  const pub = await record(port[instance] as number, `pub-${randomBytes(3).toString('hex')}`);
  for (const [topic, payload, opts] of messages) await pub.client.publishAsync(topic, payload, { qos: 1, ...opts });
  await pub.end();
}
/** Offline persistent sessions of `ids` subscribed to `topic` (QoS 1). */
async function offlineSessions(instance: string, topic: string, ids: string[], props: Record<string, unknown> = {}): Promise<void> {
  for (const id of ids) {
    const s = await persistent(port[instance] as number, id, { properties: { ...props } });
    await s.client.subscribeAsync(topic, { qos: 1 });
    await s.end();
  }
}
/** Retained messages under `filters`, synchronised by a non-retained marker published afterwards. */
async function retainedUnder(instance: string, filters: string[], markerTopic: string): Promise<string[]> {
  const r = await record(port[instance] as number, `ret-${randomBytes(3).toString('hex')}`);
  await r.client.subscribeAsync([...filters, markerTopic], { qos: 1 });
  await publish(instance, [[markerTopic, 'MARKER']]);
  await r.until((got) => got.some((m) => m.payload === 'MARKER'));
  await r.end();
  return r.received.filter((m) => m.retain).map((m) => `${m.topic}=${m.payload}`).sort();
}

beforeAll(async () => {
  h = await makeOpsHome();
  await Promise.all(
    Object.entries(CONFIGS).map(async ([name, persistence]) => {
      const file = join(h.home, `${name}.json`);
      await writeFile(file, JSON.stringify({ persistence: { maxSize: '1Gi', ...persistence }, diagnostics: { metrics: { prometheusPort: 0 } } }));
      port[name] = portOf(await h.json<Started>('create', '--instance', name, '--port', '0', '--secure-port', '0', '--broker-config-file', file));
    }),
  );
}, 30_000);
afterAll(async () => {
  await h.cleanup();
});

describe('persistence across restarts', () => {
  it('queue All + retain All come back after a graceful restart, encrypted on disk', async () => {
    await offlineSessions('qall', 'a/t', ['all-sub']);
    await publish('qall', [...[0, 1, 2, 3, 4].map((i): [string, string] => ['a/t', `SECRET-QUEUED-${i}`]), ['ra/x', 'SECRET-RETAINED', { retain: true }]]);
    await stop('qall');
    expect((await readdir(join(dir('qall'), 'data', 'store'))).length).toBeGreaterThan(0);
    expect(await filesContaining(join(dir('qall'), 'data'), 'SECRET-')).toEqual([]);
    const started = await start('qall');
    const s = await persistent(port['qall'] as number, 'all-sub');
    expect(s.sessionPresent).toBe(true);
    await s.until((got) => got.length >= 5);
    expect(payloads(s.received)).toEqual([0, 1, 2, 3, 4].map((i) => `SECRET-QUEUED-${i}`));
    await s.end();
    expect(await retainedUnder('qall', ['ra/#'], 'ra-marker/m')).toEqual(['ra/x=SECRET-RETAINED']);
    const stats = await h.json<Stats>('broker', 'stats', '--instance', 'qall');
    expect(stats.persistence).toEqual({ enabled: true, encryption: 'Enabled', maxSizeBytes: GiB });
    expect(stats.disk.usedBytes).toBeGreaterThan(0);
    const metrics = await (await fetch(`http://127.0.0.1:${started.metricsPort ?? 0}/metrics`)).text();
    expect(metrics).toContain('ops_broker_persistence_enabled 1');
    expect(metrics).toContain('ops_broker_persistence_encryption_enabled 1');
    expect(metrics).toContain(`ops_broker_persistence_max_size_bytes ${GiB}`);
    expect(metrics).toMatch(/ops_broker_disk_used_bytes [1-9]/);
  });

  it('refuses a wrong or malformed OPS_STORE_KEY and a missing key file; accepts the right key from OPS_STORE_KEY', async () => {
    await stop('qall');
    const startWith = (env: Record<string, string>) => opsWithEnv(h.home, env, 'broker', 'start', '--instance', 'qall');
    const wrong = await startWith({ OPS_STORE_KEY: randomBytes(32).toString('base64') });
    expect(wrong.exitCode).toBe(3);
    expect(wrong.stderr).toMatch(/exit code 5: STO_WRONG_KEY: The store at .* cannot be read with the encryption key given: the key check/);
    const malformed = await startWith({ OPS_STORE_KEY: 'not-a-key' });
    expect(malformed.stderr).toContain('STO_WRONG_KEY');
    expect(malformed.stderr).toContain('OPS_STORE_KEY must be the base64 of 32 bytes');
    const keyFile = join(dir('qall'), 'secrets', 'store.key');
    const key = (await readFile(keyFile, 'utf8')).trim();
    await rename(keyFile, `${keyFile}.moved`);
    const missing = await startWith({});
    expect(missing.stderr).toMatch(/STO_WRONG_KEY.*no key: .*store\.key does not exist and OPS_STORE_KEY is not set/);
    const viaEnv = await startWith({ OPS_STORE_KEY: key });
    expect(viaEnv.exitCode).toBe(0);
    await rename(`${keyFile}.moved`, keyFile);
    port['qall'] = portOf(await h.json<Started>('broker', 'status', '--instance', 'qall'));
  });

  it('with OPS_STORE_KEY at create there is no key file, and the key must be given at every start', async () => {
    const file = join(h.home, 'qall.json');
    const create = (env: Record<string, string>) => opsWithEnv(h.home, env, 'create', '--instance', 'envkey', '--port', '0', '--secure-port', '0', '--broker-config-file', file, '-o', 'json');
    const bad = await create({ OPS_STORE_KEY: randomBytes(16).toString('base64') });
    expect(bad.exitCode).toBe(3);
    expect(bad.stderr).toContain('STO_WRONG_KEY');
    const key = randomBytes(32).toString('base64');
    expect((await create({ OPS_STORE_KEY: key })).exitCode).toBe(0);
    expect(await readdir(join(dir('envkey'), 'secrets')).catch(() => [])).not.toContain('store.key'); // only the TLS listener's CA and certificate
    await stop('envkey');
    expect((await h.ops('broker', 'start', '--instance', 'envkey')).stderr).toMatch(/STO_WRONG_KEY.*no key/);
    expect((await opsWithEnv(h.home, { OPS_STORE_KEY: key }, 'broker', 'start', '--instance', 'envkey')).exitCode).toBe(0);
    await stop('envkey');
  });

  it('after SIGKILL mid-load every PUBACKed message comes back in order, and none the subscriber had acknowledged comes back', async () => {
    const sub = await persistent(port['qall'] as number, 'load-sub');
    await sub.client.subscribeAsync('load/t', { qos: 1 });
    await publish('qall', Array.from({ length: 50 }, (_, i): [string, string] => ['load/t', `WARM-${i}`]));
    await sub.until((got) => got.length >= 50);
    await sub.end();
    expect(await eventually(async () => (await h.json<Stats>('broker', 'stats', '--instance', 'qall')).clients.connected === 0, 10_000)).toBe(true);

    const pid = await brokerPid(h.home, 'qall');
    const pub = await record(port['qall'] as number, 'load-pub');
    const closed = new Promise<void>((resolve) => pub.client.once('close', () => resolve()));
    let isClosed = false;
    void closed.then(() => (isClosed = true));
    const acked = new Set<number>();
    const inflight = new Set<Promise<void>>();
    for (let seq = 0; !isClosed && seq < 20_000; ) {
      if (inflight.size >= 32) {
        await Promise.race([...inflight, closed]);
        continue;
      }
      const n = seq++;
      const p: Promise<void> = pub.client.publishAsync('load/t', `LOAD-${n}`, { qos: 1 }).then(
        () => {
          acked.add(n);
          if (acked.size === 300) process.kill(pid, 'SIGKILL');
        },
        () => undefined,
      );
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    }
    pub.client.end(true);
    expect(await eventually(() => !alive(pid), 10_000)).toBe(true);
    expect(acked.size).toBeGreaterThanOrEqual(300);

    await start('qall');
    const again = await persistent(port['qall'] as number, 'load-sub');
    expect(again.sessionPresent).toBe(true);
    const last = Math.max(...acked);
    await again.until((got) => got.some((m) => m.payload === `LOAD-${last}`), 15_000);
    await again.end();
    const got = payloads(again.received);
    expect(got.filter((p) => !p.startsWith('LOAD-'))).toEqual([]);
    const seqs = got.map((p) => Number(p.slice('LOAD-'.length)));
    expect(seqs.every((s, i) => i === 0 || s > (seqs[i - 1] as number))).toBe(true);
    expect([...acked].filter((n) => !seqs.includes(n))).toEqual([]);
  });

  it('queue None keeps the session but not its messages; retain=None applied live, and at the restart (the policy in force decides); plaintext with encryption Disabled', async () => {
    await offlineSessions('qnone', 'n/t', ['none-sub']);
    await publish('qnone', [['n/t', 'QUEUED-NONE-0'], ['n/t', 'QUEUED-NONE-1'], ['f/before', 'PLAIN-RETAINED-BEFORE', { retain: true }]]);
    const pid = await brokerPid(h.home, 'qnone');
    const update = await h.ops('broker', 'persist', 'update', '--instance', 'qnone', '--persist-mode', 'retain=None');
    expect(update.exitCode).toBe(0);
    expect(await brokerPid(h.home, 'qnone')).toBe(pid);
    await publish('qnone', [['f/after', 'PLAIN-RETAINED-AFTER', { retain: true }]]);
    const data = join(dir('qnone'), 'data');
    expect((await filesContaining(data, 'PLAIN-RETAINED-BEFORE')).length).toBeGreaterThan(0);
    expect(await filesContaining(data, 'PLAIN-RETAINED-AFTER')).toEqual([]);
    expect(await filesContaining(data, 'QUEUED-NONE')).toEqual([]);

    await kill9(pid);
    await start('qnone');
    const s = await persistent(port['qnone'] as number, 'none-sub');
    expect(s.sessionPresent).toBe(true);
    await publish('qnone', [['n/t', 'AFTER-RESTART']]);
    await s.until((got) => got.some((m) => m.payload === 'AFTER-RESTART'));
    expect(payloads(s.received)).toEqual(['AFTER-RESTART']);
    await s.end();
    // Stored under retain=All, not restored under retain=None (and deleted from the store).
    expect(await retainedUnder('qnone', ['f/#'], 'f-marker/m')).toEqual([]);
    const stats = await h.json<Stats>('broker', 'stats', '--instance', 'qnone');
    expect(stats.persistence).toEqual({ enabled: true, encryption: 'Disabled', maxSizeBytes: GiB });
  });

  it('Custom: client-id patterns, dynamic CONNECT, retain topics and dynamic PUBLISH', async () => {
    const dynamic = { userProperties: { 'aio-persistence': 'true' } };
    await offlineSessions('custom', 'c/t', ['disk-1', 'mem-1']);
    await offlineSessions('custom', 'c/t', ['dyn-1'], dynamic);
    await publish('custom', [
      ['c/t', 'C-0'],
      ['c/t', 'C-1'],
      ['c/t', 'C-2'],
      ['keep/a', 'KEEP-A', { retain: true }],
      ['drop/b', 'DROP-B', { retain: true }],
      ['drop/c', 'DYN-C', { retain: true, properties: dynamic }],
    ]);
    await stop('custom');
    await start('custom');
    const sessions = await Promise.all(['disk-1', 'mem-1', 'dyn-1'].map((id) => persistent(port['custom'] as number, id)));
    expect(sessions.map((s) => s.sessionPresent)).toEqual([true, true, true]);
    await publish('custom', [['c/t', 'C-AFTER']]);
    for (const s of sessions) await s.until((got) => got.some((m) => m.payload === 'C-AFTER'));
    await Promise.all(sessions.map((s) => s.end()));
    expect(sessions.map((s) => payloads(s.received))).toEqual([['C-0', 'C-1', 'C-2', 'C-AFTER'], ['C-AFTER'], ['C-0', 'C-1', 'C-2', 'C-AFTER']]);
    expect(await retainedUnder('custom', ['keep/#', 'drop/#'], 'marker/m')).toEqual(['drop/c=DYN-C', 'keep/a=KEEP-A']);
  });

  it('persist update applies to connected and offline sessions at once, both ways, across SIGKILL', async () => {
    const pstart = async (): Promise<void> => {
      await kill9(await brokerPid(h.home, 'dyn'));
      await start('dyn');
    };
    await offlineSessions('dyn', 'dq/t', ['late-off']);
    const online = await persistent(port['dyn'] as number, 'late-on');
    await online.client.subscribeAsync('dq/t', { qos: 1 });
    await publish('dyn', [['dq/t', 'BEFORE-0']]);
    await online.until((got) => got.some((m) => m.payload === 'BEFORE-0'));

    // Widening: both sessions are selected now, without reconnecting.
    const widen = await h.ops('broker', 'persist', 'update', '--instance', 'dyn', '--persist-mode', 'subscriberQueue=Custom', '--subscriber-client-ids', 'late-*');
    expect(widen.exitCode).toBe(0);
    await online.end();
    expect(await eventually(async () => (await h.json<Stats>('broker', 'stats', '--instance', 'dyn')).clients.connected === 0, 10_000)).toBe(true);
    await publish('dyn', [['dq/t', 'AFTER-0'], ['dq/t', 'AFTER-1']]);
    await pstart();
    for (const id of ['late-off', 'late-on']) {
      const s = await persistent(port['dyn'] as number, id);
      expect(s.sessionPresent).toBe(true);
      await s.until((got) => got.length >= 2);
      await s.end();
      // BEFORE-0 (queued for late-off before the swap) was memory only, as AIO: only later messages are stored.
      expect(payloads(s.received)).toEqual(['AFTER-0', 'AFTER-1']);
    }

    // Narrowing: stored entries stay until delivered, new messages are memory only at once.
    await publish('dyn', [['dq/t', 'KEPT-0']]);
    const narrow = await h.ops('broker', 'persist', 'update', '--instance', 'dyn', '--persist-mode', 'subscriberQueue=Custom', '--subscriber-client-ids', 'nobody');
    expect(narrow.exitCode).toBe(0);
    await publish('dyn', [['dq/t', 'MEMORY-0']]);
    await pstart();
    const resumed = await Promise.all(['late-off', 'late-on'].map((id) => persistent(port['dyn'] as number, id)));
    expect(resumed.map((s) => s.sessionPresent)).toEqual([true, true]);
    await publish('dyn', [['dq/t', 'MARK']]);
    for (const s of resumed) await s.until((got) => got.some((m) => m.payload === 'MARK'));
    await Promise.all(resumed.map((s) => s.end()));
    expect(resumed.map((s) => payloads(s.received))).toEqual([
      ['KEPT-0', 'MARK'],
      ['KEPT-0', 'MARK'],
    ]);
  });

  it('a retain Custom policy narrowed to fewer topics restores only those after SIGKILL; the others are deleted from the store', async () => {
    await publish('dyn', [['keep/a', 'KEEP-A', { retain: true }], ['also/b', 'ALSO-B', { retain: true }]]);
    const narrow = await h.ops('broker', 'persist', 'update', '--instance', 'dyn', '--persist-mode', 'retain=Custom', '--retain-topics', 'keep/#');
    expect(narrow.exitCode).toBe(0);
    // Until the restart the broker still serves what it holds in memory.
    expect(await retainedUnder('dyn', ['keep/#', 'also/#'], 'rmark/m')).toEqual(['also/b=ALSO-B', 'keep/a=KEEP-A']);
    await kill9(await brokerPid(h.home, 'dyn'));
    await start('dyn');
    expect(await retainedUnder('dyn', ['keep/#', 'also/#'], 'rmark/m')).toEqual(['keep/a=KEEP-A']);
    // Deleted, not just hidden: widening again and restarting does not bring it back.
    expect((await h.ops('broker', 'persist', 'update', '--instance', 'dyn', '--persist-mode', 'retain=All')).exitCode).toBe(0);
    await kill9(await brokerPid(h.home, 'dyn'));
    await start('dyn');
    expect(await retainedUnder('dyn', ['keep/#', 'also/#'], 'rmark/m')).toEqual(['keep/a=KEEP-A']);
  });

  it('refuses to start on a corrupt record or a truncated store, and says why', async () => {
    await stop('custom');
    const store = join(dir('custom'), 'data', 'store');
    await flipValueByte(store, 'r/');
    const corrupt = await h.ops('broker', 'start', '--instance', 'custom');
    expect(corrupt.exitCode).toBe(3);
    expect(corrupt.stderr).toMatch(/exit code 5: STO_CORRUPT_RECORD: The store at .* holds a corrupt retained message record/);
    const manifest = (await readdir(store)).find((f) => f.startsWith('MANIFEST-'));
    expect(manifest).toBeDefined();
    await truncate(join(store, manifest as string), 10);
    const truncated = await h.ops('broker', 'start', '--instance', 'custom');
    expect(truncated.exitCode).toBe(3);
    expect(truncated.stderr).toMatch(/exit code 3: STO_OPEN_FAILED: The store at .* could not be opened/);
    expect((await h.ops('broker', 'status', '--instance', 'custom')).stdout).toContain('stopped');
  });
});
