/**
 * Cluster mode, issue 15 acceptance 8: runtime changes made through the admin interface (the real
 * `ops` CLI) of one frontend take effect on all three, through the cluster config channel
 * (src/cluster/config-sync.ts): `ops broker authz apply` on f1 denies a publish on f2 and f3 too (and
 * allows it again when applied back, from f3); `ops broker persist update` on f2 reaches f1 and f3
 * (`persist show`, stats) and the policy is in force (a retained message it no longer persists is
 * not in the store a later frontend loads from); a frontend created later starts on the current
 * settings, which also win over a change made to a stopped frontend (warned). Listeners stay per
 * frontend (each process binds its own ports).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callAdmin } from '../../src/admin/client.js';
import { ReasonCode } from '../../src/protocol/reason-codes.js';
import { passwdLine } from '../../src/security/passwd.js';
import { connectClient } from '../helpers/cli-mqtt.js';
import { portOf } from '../helpers/cli-ops.js';
import { startFrontends, type ClusterFrontends } from '../helpers/cluster-frontends.js';
import { waitUntil } from '../helpers/redis-cluster.js';
import { StateStoreTestClient } from '../helpers/state-store-client.js';
import { notificationFilter, REQUEST_TOPIC } from '../../src/shared/state-store-wire.js';

let cluster: ClusterFrontends;
/** Resource files for `--config-file` (outside the OPS_HOME, whose every entry the cleanup treats as an instance). */
let files: string;
const clients: MqttClient[] = [];
const securePorts = new Map<string, number>();

interface Stats {
  readonly persistPolicyVersion: number;
  readonly cluster?: { readonly configRevision: number; readonly configRefused: number; readonly configBadEntries: number; readonly stateStoreLeader?: boolean };
}
interface PersistShow {
  readonly live: boolean;
  readonly persistence: { readonly retain?: unknown } | null;
}

const authn = { properties: { authenticationMethods: [{ method: 'Custom', customSettings: { endpoint: 'https://127.0.0.1:9/auth' } }] } };
/** Rules letting alice connect and publish to `topics`. */
const rules = (...topics: string[]) => ({
  properties: { authorizationPolicies: { rules: [{ principals: { usernames: ['alice'] }, brokerResources: [{ method: 'Connect' }, { method: 'Publish', topics }] }] } },
});
const secureListener = { properties: { serviceType: 'LoadBalancer', ports: [{ port: 0, authenticationRef: 'local', authorizationRef: 'rules' }] } };

async function apply(instance: string, kind: 'authn' | 'authz' | 'listener', name: string, value: unknown): Promise<void> {
  const file = join(files, `${instance}-${kind}-${name}-${Date.now()}.json`);
  await writeFile(file, JSON.stringify(value));
  const r = await cluster.home.ops('broker', kind, 'apply', '--instance', instance, '--name', name, '--config-file', file);
  if (r.exitCode !== 0) throw new Error(`ops broker ${kind} apply on ${instance} failed (${r.exitCode}): ${r.stderr}`);
}

/** The broker's stats, read over its admin socket (cheaper to poll than spawning `ops`; the changes go through `ops`). */
const stats = async (instance: string): Promise<Stats> => (await callAdmin(join(cluster.home.home, instance, 'admin.sock'), 'stats')) as Stats;
const revisionOf = async (instance: string): Promise<number> => (await stats(instance)).cluster?.configRevision ?? -1;

/** Waits until every instance is at config revision `rev` or later. */
async function allAt(instances: readonly string[], rev: number): Promise<void> {
  await Promise.all(instances.map((name) => waitUntil(`${name} at config revision ${rev}`, async () => (await revisionOf(name)) >= rev, 15_000, 100)));
}

const securePortOf = async (name: string): Promise<number> =>
  portOf((await callAdmin(join(cluster.home.home, name, 'admin.sock'), 'status')) as { ports: Array<{ listener: string; port: number }> }, 'secure');

const connectAlice = async (port: number, clientId: string): Promise<MqttClient> => {
  const client = await connectClient(port, { protocolVersion: 5, username: 'alice', password: 'pw', clientId, reconnectPeriod: 0 });
  clients.push(client);
  return client;
};

/** Whether alice may publish to `topic` on `instance`'s secure port (a fresh connection each time). */
async function mayPublish(instance: string, topic: string): Promise<boolean> {
  const alice = await connectAlice(securePorts.get(instance) ?? 0, `alice-${instance}-${clients.length}`);
  try {
    await alice.publishAsync(topic, 'x', { qos: 1 });
    return true;
  } catch (error) {
    if ((error as { code?: number }).code === ReasonCode.NotAuthorized) return false;
    throw error;
  } finally {
    await alice.endAsync();
  }
}

const names = ['f1', 'f2', 'f3'];

beforeAll(async () => {
  files = await mkdtemp(join(tmpdir(), 'ops-cfg-'));
  cluster = await startFrontends({ frontends: 3, persistence: { maxSize: '200M' } });
  for (const name of [...names, 'f4']) {
    await mkdir(join(cluster.home.home, name, 'secrets'), { recursive: true });
    await writeFile(join(cluster.home.home, name, 'secrets', 'passwd'), `${passwdLine('alice', 'pw')}\n`);
  }
}, 120_000);

afterAll(async () => {
  for (const c of clients.splice(0)) c.end(true);
  await cluster?.stop();
  await rm(files, { recursive: true, force: true });
}, 60_000);

describe('runtime changes through one frontend reach every frontend', () => {
  it('every frontend starts at the same config revision (the first one published its settings)', async () => {
    const revs = await Promise.all(names.map(revisionOf));
    expect(revs[0]).toBeGreaterThanOrEqual(1);
    expect(new Set(revs).size).toBe(1);
    for (const s of await Promise.all(names.map(stats))) expect(s.cluster).toMatchObject({ configRefused: 0, configBadEntries: 0 });
  });

  it('authn and authz applied on f1 are in force on f2 and f3: a denied publish is denied everywhere, and allowed again when applied back on f3', async () => {
    const start = await revisionOf('f1');
    await apply('f1', 'authn', 'local', authn);
    await apply('f1', 'authz', 'rules', rules('devices/#', 'fleet/#'));
    await allAt(names, start + 2);
    // The listener is each frontend's own (its own port), referring to the cluster-wide authn and authz.
    await Promise.all(names.map(async (name) => {
      await apply(name, 'listener', 'secure', secureListener);
      securePorts.set(name, await securePortOf(name));
    }));
    expect(await revisionOf('f2')).toBe(start + 2); // a listener change is not published
    expect(await Promise.all(names.map((name) => mayPublish(name, 'fleet/truck1')))).toEqual([true, true, true]);

    // Connected clients of the changed port are dropped everywhere (AIO: they reconnect under the new rules).
    const held = await Promise.all(names.map((name) => connectAlice(securePorts.get(name) ?? 0, `held-${name}`)));
    const dropped = held.map((client) => new Promise<void>((resolve) => client.once('close', () => resolve())));
    await apply('f1', 'authz', 'rules', rules('devices/#'));
    await allAt(names, start + 3);
    await Promise.all(dropped);
    expect(await Promise.all(names.map((name) => mayPublish(name, 'fleet/truck1')))).toEqual([false, false, false]);
    expect(await Promise.all(names.map((name) => mayPublish(name, 'devices/d1')))).toEqual([true, true, true]);

    await apply('f3', 'authz', 'rules', rules('devices/#', 'fleet/#'));
    await allAt(names, start + 4);
    expect(await Promise.all(names.map((name) => mayPublish(name, 'fleet/truck1')))).toEqual([true, true, true]);
  }, 90_000);

  it('concurrent changes on two frontends are serialised, not lost: both authorizations are on every frontend', async () => {
    const start = await revisionOf('f1');
    await Promise.all([apply('f1', 'authz', 'from-f1', rules('a/#')), apply('f2', 'authz', 'from-f2', rules('b/#'))]);
    await allAt(names, start + 2);
    for (const name of names) {
      const list = (await callAdmin(join(cluster.home.home, name, 'admin.sock'), 'resource.list', { kind: 'authorization' })) as Array<{ name: string }>;
      expect(list.map((r) => r.name).sort()).toEqual(['from-f1', 'from-f2', 'rules']);
      expect(await revisionOf(name)).toBe(start + 2);
    }
  }, 60_000);

  it('persist update on f2 reaches f1 and f3 and is in force; a frontend created later starts on the current settings', async () => {
    const start = await revisionOf('f2');
    const before = await stats('f1');
    const r = await cluster.home.ops('broker', 'persist', 'update', '--instance', 'f2', '--persist-mode', 'retain=Custom', '--retain-topics', 'keep/#');
    expect(r.exitCode, r.stderr).toBe(0);
    await allAt(names, start + 1);
    for (const show of await Promise.all(names.map((name) => cluster.home.json<PersistShow>('broker', 'persist', 'show', '--instance', name)))) {
      expect(show.live).toBe(true);
      expect(show.persistence?.retain).toMatchObject({ mode: 'Custom', retainSettings: { topics: ['keep/#'] } });
    }
    expect((await stats('f1')).persistPolicyVersion).toBeGreaterThan(before.persistPolicyVersion);

    // f1 publishes two retained messages under the new policy: only keep/a goes to the store.
    const pub = await connectClient(cluster.frontends[0]?.port ?? 0, { protocolVersion: 5, clientId: 'retainer', reconnectPeriod: 0 });
    clients.push(pub);
    await pub.publishAsync('drop/a', 'not persisted', { qos: 1, retain: true });
    await pub.publishAsync('keep/a', 'persisted', { qos: 1, retain: true });

    // f4, created later, adopts the cluster's settings before it serves, and loads retained messages from the store.
    const created = await cluster.home.json<{ ports: Array<{ listener: string; port: number }> }>(
      'create', '--instance', 'f4', '--port', '0', '--secure-port', '0', '--broker-config-file', cluster.configFile,
      '--backend', cluster.backend, '--store-key-from', 'f1',
    );
    expect(await revisionOf('f4')).toBe(start + 1);
    const show = await cluster.home.json<PersistShow>('broker', 'persist', 'show', '--instance', 'f4');
    expect(show.persistence?.retain).toMatchObject({ mode: 'Custom', retainSettings: { topics: ['keep/#'] } });
    await apply('f4', 'listener', 'secure', secureListener);
    securePorts.set('f4', await securePortOf('f4'));
    expect(await mayPublish('f4', 'fleet/truck1')).toBe(true);
    expect(await mayPublish('f4', 'other/x')).toBe(false);

    const sub = await connectClient(portOf(created), { protocolVersion: 5, clientId: 'late-reader', reconnectPeriod: 0 });
    clients.push(sub);
    const seen: string[] = [];
    const marker = new Promise<void>((resolve) =>
      sub.on('message', (topic) => {
        seen.push(topic);
        if (topic === 'keep/zz-marker') resolve();
      }),
    );
    await sub.subscribeAsync(['keep/#', 'drop/#'], { qos: 1 });
    // A message after the subscription's retained ones, on the same connection: once it is in, they all are.
    await sub.publishAsync('keep/zz-marker', 'm', { qos: 1 });
    await marker;
    expect(seen).toEqual(['keep/a', 'keep/zz-marker']);
  }, 90_000);

  it('a change made to a stopped frontend is warned about, and the cluster\'s settings win at its start', async () => {
    const rev = await revisionOf('f1');
    expect((await cluster.home.ops('broker', 'stop', '--instance', 'f4')).exitCode).toBe(0);
    const file = join(files, 'offline.json');
    await writeFile(file, JSON.stringify(rules('offline/#')));
    const r = await cluster.home.ops('broker', 'authz', 'apply', '--instance', 'f4', '--name', 'offline', '--config-file', file);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain("at its next start the cluster's authentications, authorizations");
    const started = await cluster.home.ops('broker', 'start', '--instance', 'f4');
    expect(started.exitCode, started.stderr).toBe(0);
    expect(await revisionOf('f4')).toBe(rev);
    const list = (await callAdmin(join(cluster.home.home, 'f4', 'admin.sock'), 'resource.list', { kind: 'authorization' })) as Array<{ name: string }>;
    expect(list.map((x) => x.name)).not.toContain('offline');
    for (const s of await Promise.all([...names, 'f4'].map(stats))) expect(s.cluster).toMatchObject({ configRefused: 0, configBadEntries: 0 });
  }, 60_000);

  it('the state store leader decides a requester connected to another frontend with that client\'s own port rules: its keys, response topic and notifications', async () => {
    const start = await revisionOf('f1');
    // alice may use keys under keys/<her client id>/, publish requests and to her own topics, subscribe to her own topics and notifications.
    await apply('f1', 'authz', 'rules', {
      properties: {
        authorizationPolicies: {
          rules: [{
            principals: { usernames: ['alice'] },
            brokerResources: [{ method: 'Connect' }, { method: 'Publish', topics: [REQUEST_TOPIC, 'clients/{principal.clientId}/#'] }, { method: 'Subscribe', topics: ['clients/{principal.clientId}/#', ...names.map((name) => notificationFilter(`ss-alice-${name}`))] }],
            stateStoreResources: [{ keyType: 'Pattern', keys: ['keys/{principal.clientId}/*'], method: 'ReadWrite' }],
          }],
        },
      },
    });
    await allAt(names, start + 1);
    const leading = await Promise.all(names.map(async (name) => (await stats(name)).cluster?.stateStoreLeader === true));
    expect(leading.filter(Boolean)).toHaveLength(1);
    for (const [i, name] of names.entries()) {
      const clientId = `ss-alice-${name}`;
      const port = securePorts.get(name) ?? 0;
      const alice = await StateStoreTestClient.connect({ connect: (options) => connectAlice(port, options?.clientId ?? clientId) }, clientId);
      await alice.untilServed();
      const where = `alice on ${name} (${leading[i] === true ? 'the leader' : 'not the leader'})`;
      expect((await alice.invoke(['SET', `keys/${clientId}/a`, 'v'])).text, where).toBe('+OK\r\n');
      expect((await alice.invoke(['GET', `keys/${clientId}/a`])).text, where).toBe('$1\r\nv\r\n');
      expect((await alice.invoke(['SET', 'keys/someone-else/a', 'v'])).text, where).toBe('-ERR not authorized\r\n');
      expect((await alice.invoke(['GET', 'keys/someone-else/a'])).text, where).toBe('-ERR not authorized\r\n');
      // KEYNOTIFY: her key's notifications on her notification topic, which she may subscribe to; not someone else's key.
      expect((await alice.invoke(['KEYNOTIFY', `keys/${clientId}/a`])).text, where).toBe('+OK\r\n');
      expect((await alice.invoke(['KEYNOTIFY', 'keys/someone-else/a'])).text, where).toBe('-ERR not authorized\r\n');
      // A response topic she may not publish to: nothing is executed (the leader also disconnects her; another frontend's client cannot be).
      await alice.invoke(['SET', `keys/${clientId}/b`, 'v'], undefined, { responseTopic: 'devices/elsewhere/response', timeoutMs: 500 }).catch(() => undefined);
      const reader = await StateStoreTestClient.connect({ connect: (options) => connectAlice(port, options?.clientId ?? clientId) }, clientId);
      await reader.untilServed();
      expect((await reader.invoke(['GET', `keys/${clientId}/b`])).text, where).toBe('$-1\r\n');
    }
  }, 90_000);
});
