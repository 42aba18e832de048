/**
 * Sessions belong to the identity that created them: with passwords, X.509
 * certificates and service account tokens, another identity reusing a client id can neither resume
 * the session (sessionPresent, subscriptions, queued messages), nor discard it, nor kick its owner;
 * the owner can. A resumed session loses the subscriptions its authorization revoked. In one
 * process: the real listener manager (TLS with client certificates), the real port security table,
 * the real engine on a real LevelDB store (reopened for the restart cases), real MQTT.js clients.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import mqtt, { type IConnackPacket, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../../src/broker/broker.js';
import type { ListenerProperties } from '../../../src/config/types.js';
import type { RuntimeState } from '../../../src/instance/runtime-file.js';
import { ensureSigningKey } from '../../../src/instance/sat-keys.js';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import { passwdLine } from '../../../src/security/passwd.js';
import { ListenerManager, type PortOrigin } from '../../../src/server/listeners.js';
import { PortSecurityTable } from '../../../src/server/security.js';
import { signJwt } from '../../../src/shared/jwt.js';
import { silentLogger } from '../../../src/shared/log.js';
import { satClaims } from '../../../src/shared/sat-token.js';
import type { LevelBrokerStore } from '../../../src/storage/level/level-broker-store.js';
import { within } from '../../helpers/bad-input.js';
import { issueCert, makeCa, makeServerSecret, type CertFiles } from '../../helpers/certs.js';
import { levelStoreFixture } from '../../helpers/level-store-fixture.js';

const USERS = ['alice', 'bob', 'sensor-1', 'sensor-2', 'smart-fan'];
/** Everyone connects, publishes anywhere and subscribes to `shared/#`; only alice may subscribe to `alice/#`. */
const rules = (aliceOwnTopics = true) => [
  { principals: { usernames: USERS }, brokerResources: [{ method: 'Connect' }, { method: 'Publish', topics: ['#'] }, { method: 'Subscribe', topics: ['shared/#'] }] },
  ...(aliceOwnTopics ? [{ principals: { usernames: ['alice'] }, brokerResources: [{ method: 'Subscribe', topics: ['alice/#'] }] }] : []),
];

const state = (aliceOwnTopics = true): RuntimeState => ({
  version: 1,
  host: '127.0.0.1',
  broker: {},
  listeners: {
    plain: { ports: [{ port: 0, authenticationRef: 'all', authorizationRef: 'rules' }] },
    tls: { ports: [{ port: 0, tls: { mode: 'Manual', manual: { secretRef: 'srv' } }, authenticationRef: 'all', authorizationRef: 'rules' }] },
    open: { ports: [{ port: 0 }] },
  },
  authentications: {
    all: { authenticationMethods: [{ method: 'X509', x509Settings: { trustedClientCaCert: 'client-ca' } }, { method: 'ServiceAccountToken', serviceAccountTokenSettings: { audiences: ['aud'] } }] },
  },
  authorizations: { rules: { authorizationPolicies: { rules: rules(aliceOwnTopics) } } },
});

let dir: string;
let secrets: string;
let serverCa: CertFiles;
const certs: Record<string, CertFiles> = {};
const stores = levelStoreFixture('session-owner-');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'session-owner-pki-'));
  secrets = join(dir, 'secrets');
  serverCa = await makeServerSecret(join(secrets, 'srv'));
  const root = await makeCa(join(dir, 'pki'), 'root', '/CN=Owner Test CA');
  // the same CN with another subject is another identity
  certs['fan'] = await issueCert(join(dir, 'pki'), 'fan', root, { subject: '/CN=smart-fan/O=Contoso' });
  certs['twin'] = await issueCert(join(dir, 'pki'), 'twin', root, { subject: '/CN=smart-fan/O=Rogue' });
  await mkdir(join(secrets, 'client-ca'), { recursive: true });
  await writeFile(join(secrets, 'client-ca', 'client_ca.pem'), root.certPem);
  await writeFile(join(secrets, 'passwd'), ['alice', 'bob'].map((u) => passwdLine(u, 'pw')).join('\n') + '\n');
});
afterAll(async () => {
  await stores.cleanup();
  await rm(dir, { recursive: true, force: true });
});

interface Running {
  readonly broker: Broker;
  readonly security: PortSecurityTable;
  readonly listeners: ListenerManager;
  readonly plain: string;
  readonly tls: string;
  readonly open: string;
}
let running: Running | undefined;
const clients: MqttClient[] = [];

afterEach(async () => {
  await stop();
});

async function stop(): Promise<void> {
  for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
  await running?.listeners.closeAll();
  await running?.broker.close();
  running = undefined;
}

/** Starts the broker on `store` (a fresh LevelDB store by default) with the ports of `state(aliceOwnTopics)`. */
async function start(store?: LevelBrokerStore, aliceOwnTopics = true): Promise<Running> {
  const engine = createBroker({ sysIntervalSeconds: 0, store: store ?? (await stores.open({ path: await stores.freshDir() })) });
  const security = new PortSecurityTable(join(secrets, 'passwd'), silentLogger);
  const attach = (stream: Duplex, o: PortOrigin): void => {
    const hooks = security.hooksOf(o.listener, o.port);
    engine.attach(stream, { ...(hooks !== undefined ? { hooks } : {}), info: { listener: o.listener, port: o.port, ...(o.clientCertificate ? { clientCertificate: o.clientCertificate } : {}) } });
  };
  const s = state(aliceOwnTopics);
  security.update(s);
  const listeners = new ListenerManager('127.0.0.1', attach, silentLogger, secrets);
  await listeners.sync(s.listeners as unknown as Record<string, ListenerProperties>);
  const port = (name: string) => listeners.openPorts().find((p) => p.listener === name)?.port;
  running = { broker: engine, security, listeners, plain: `mqtt://127.0.0.1:${port('plain')}`, tls: `mqtts://localhost:${port('tls')}`, open: `mqtt://127.0.0.1:${port('open')}` };
  return running;
}

/** A client and every message it received, from its first packet on. */
interface Opened {
  readonly client: MqttClient;
  readonly connack: IConnackPacket;
  readonly received: string[];
}

/** Connects (v5, persistent session unless told) and resolves with the CONNACK, accepted or not. */
function connect(url: string, options: IClientOptions): Promise<Opened> {
  const client = mqtt.connect(url, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    clean: false,
    ...(options.protocolVersion === 4 ? {} : { properties: { sessionExpiryInterval: 300 } }),
    ...options,
  });
  clients.push(client);
  const received: string[] = [];
  client.on('message', (topic, payload) => received.push(`${topic}:${payload.toString()}`));
  client.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'connack') resolve({ client, connack: packet, received });
    });
    client.on('close', () => reject(new Error('closed without a CONNACK')));
  });
}

/** The v5 reason code (or 3.1.1 return code) of a CONNACK. */
const codeOf = (opened: Opened): number | undefined => opened.connack.reasonCode ?? opened.connack.returnCode;

/** A token of the instance key for `subject`. */
async function token(subject: string): Promise<Buffer> {
  const key = await ensureSigningKey(secrets);
  const claims = satClaims({ issuer: 'it', audiences: ['aud'], issuedAt: Math.floor(Date.now() / 1000), ttlSeconds: 600, attributes: {}, subject });
  return Buffer.from(signJwt(claims, key.privateKey, key.kid));
}
const withToken = async (subject: string): Promise<IClientOptions> => ({
  protocolVersion: 5,
  properties: { sessionExpiryInterval: 300, authenticationMethod: 'K8S-SAT', authenticationData: await token(subject) },
});
const presenting = (name: string): IClientOptions => {
  const own = certs[name] as CertFiles;
  return { ca: serverCa.certPem, servername: 'localhost', cert: own.certPem, key: own.keyPem };
};
const password = (username: string): IClientOptions => ({ username, password: 'pw' });

/** Publishes `topic` at QoS 1 from a fresh client of alice (allowed to publish anywhere). */
async function publish(r: Running, topic: string, payload: string): Promise<void> {
  const publisher = await connect(r.plain, { ...password('alice'), clientId: `pub-${topic.replaceAll('/', '-')}-${payload}`, clean: true, properties: {} });
  await publisher.client.publishAsync(topic, payload, { qos: 1 });
  await publisher.client.endAsync();
}

/** Resolves once `opened` has received `count` messages. */
async function receives(opened: Opened, count: number): Promise<string[]> {
  while (opened.received.length < count) await within(new Promise((resolve) => opened.client.once('message', resolve)), 5000, `message ${count}`);
  return opened.received;
}

/**
 * The owner makes a session with a queued message and stays connected; `intruder` (another identity)
 * reusing the client id is refused 0x87 with and without Clean Start; the owner keeps its
 * connection; after the owner leaves, the intruder still cannot resume; the owner resumes it.
 */
async function ownerKeepsSession(r: Running, ownerUrl: string, owner: () => Promise<IClientOptions>, intruderUrl: string, intruder: () => Promise<IClientOptions>): Promise<void> {
  const clientId = 'device-7';
  const first = await connect(ownerUrl, { ...(await owner()), clientId, clean: true });
  expect(codeOf(first)).toBe(ReasonCode.Success);
  await first.client.subscribeAsync('shared/7', { qos: 1 });

  for (const clean of [false, true]) {
    const refused = await connect(intruderUrl, { ...(await intruder()), clientId, clean });
    expect(codeOf(refused)).toBe(ReasonCode.NotAuthorized);
    expect(refused.connack.sessionPresent).toBe(false);
  }
  // not kicked (0x8E): the owner still receives
  await publish(r, 'shared/7', 'live');
  expect(await receives(first, 1)).toEqual(['shared/7:live']);

  await first.client.endAsync();
  await publish(r, 'shared/7', 'queued');
  const stolen = await connect(intruderUrl, { ...(await intruder()), clientId });
  expect(codeOf(stolen)).toBe(ReasonCode.NotAuthorized);
  expect(stolen.received).toEqual([]);

  const back = await connect(ownerUrl, { ...(await owner()), clientId });
  expect(codeOf(back)).toBe(ReasonCode.Success);
  expect(back.connack.sessionPresent).toBe(true);
  expect(await receives(back, 1)).toEqual(['shared/7:queued']);
}

describe('a session belongs to the identity that created it', () => {
  it('passwords: another user can neither resume, discard nor take over the session; the owner can', async () => {
    const r = await start();
    await ownerKeepsSession(r, r.plain, async () => password('alice'), r.plain, async () => password('bob'));
  });

  it('passwords over MQTT 3.1.1: the refusal is return code 5', async () => {
    const r = await start();
    const owner = await connect(r.plain, { ...password('alice'), protocolVersion: 4, clientId: 'legacy-1' });
    expect(codeOf(owner)).toBe(0);
    await owner.client.endAsync();
    const refused = await connect(r.plain, { ...password('bob'), protocolVersion: 4, clientId: 'legacy-1' });
    expect(codeOf(refused)).toBe(5);
    expect(refused.connack.sessionPresent).toBe(false);
  });

  it('tokens: another subject cannot resume; a new token of the same subject can', async () => {
    const r = await start();
    await ownerKeepsSession(r, r.plain, () => withToken('sensor-1'), r.plain, () => withToken('sensor-2'));
  });

  it('tokens: a password user cannot resume by a token naming that user (refused at authentication)', async () => {
    const r = await start();
    const owner = await connect(r.plain, { ...password('alice'), clientId: 'alice-1' });
    expect(codeOf(owner)).toBe(ReasonCode.Success);
    const refused = await connect(r.plain, { ...(await withToken('alice')), clientId: 'alice-1' });
    expect(codeOf(refused)).toBe(ReasonCode.NotAuthorized);
    expect(refused.connack.properties?.reasonString).toMatch(/is a password-file user/);
  });

  it('X.509: a certificate with the same CN but another subject cannot resume; the owner certificate can', async () => {
    const r = await start();
    await ownerKeepsSession(r, r.tls, async () => presenting('fan'), r.tls, async () => presenting('twin'));
  });

  it('methods do not mix: a token whose subject is a certificate CN cannot resume the certificate session', async () => {
    const r = await start();
    await ownerKeepsSession(r, r.tls, async () => presenting('fan'), r.plain, () => withToken('smart-fan'));
  });

  it('a port without authentication: its clients keep sharing sessions, but cannot reach an authenticated session', async () => {
    const r = await start();
    const first = await connect(r.open, { clientId: 'anon-1' });
    await first.client.subscribeAsync('shared/a', { qos: 1 });
    const second = await connect(r.open, { clientId: 'anon-1' });
    expect(second.connack.sessionPresent).toBe(true); // today's behaviour on an open port
    await ownerKeepsSession(r, r.plain, async () => password('alice'), r.open, async () => ({}));
  });

  it('a resumed session loses the subscriptions the current authorization refuses, and their queued messages', async () => {
    const r = await start();
    const alice = await connect(r.plain, { ...password('alice'), clientId: 'alice-2' });
    await alice.client.subscribeAsync(['alice/inbox', 'shared/news'], { qos: 1 });
    await alice.client.endAsync();
    await publish(r, 'alice/inbox', 'private');
    await publish(r, 'shared/news', 'public');
    // authorization changes while alice is away: alice/# is no longer hers
    r.security.update(state(false));
    const back = await connect(r.plain, { ...password('alice'), clientId: 'alice-2' });
    expect(back.connack.sessionPresent).toBe(true);
    expect(await receives(back, 1)).toEqual(['shared/news:public']);
    await publish(r, 'alice/inbox', 'after');
    await publish(r, 'shared/news', 'after');
    expect(await receives(back, 2)).toEqual(['shared/news:public', 'shared/news:after']);
  });
});

describe('across a restart (LevelDB store)', () => {
  it('the owner is stored with the session: after a restart another user is refused and the owner resumes', async () => {
    const path = await stores.freshDir();
    let r = await start(await stores.open({ path }));
    const alice = await connect(r.plain, { ...password('alice'), clientId: 'kept-1' });
    await alice.client.subscribeAsync('alice/#', { qos: 1 });
    await alice.client.endAsync();
    await publish(r, 'alice/x', 'stored');
    await stop();

    r = await start(await stores.open({ path }));
    const bob = await connect(r.plain, { ...password('bob'), clientId: 'kept-1' });
    expect(codeOf(bob)).toBe(ReasonCode.NotAuthorized);
    const back = await connect(r.plain, { ...password('alice'), clientId: 'kept-1' });
    expect(back.connack.sessionPresent).toBe(true);
    expect(await receives(back, 1)).toEqual(['alice/x:stored']);
  });

  it('messages dropped with a revoked subscription are deleted from the store: they do not come back after a restart', async () => {
    const path = await stores.freshDir();
    let r = await start(await stores.open({ path }));
    const alice = await connect(r.plain, { ...password('alice'), clientId: 'kept-2' });
    await alice.client.subscribeAsync(['alice/inbox', 'shared/news'], { qos: 1 });
    await alice.client.endAsync();
    await publish(r, 'alice/inbox', 'private');
    r.security.update(state(false));
    const back = await connect(r.plain, { ...password('alice'), clientId: 'kept-2' });
    expect(back.connack.sessionPresent).toBe(true);
    await publish(r, 'shared/news', 'first');
    expect(await receives(back, 1)).toEqual(['shared/news:first']);
    await back.client.endAsync();
    await stop();

    r = await start(await stores.open({ path }), false);
    const again = await connect(r.plain, { ...password('alice'), clientId: 'kept-2' });
    expect(again.connack.sessionPresent).toBe(true);
    await publish(r, 'shared/news', 'barrier');
    expect(await receives(again, 1)).toEqual(['shared/news:barrier']);
  });

  it('a session stored without an owner (older store) is bound by its next CONNECT', async () => {
    const path = await stores.freshDir();
    const old = await stores.open({ path });
    await old.saveSession({ clientId: 'old-1', protocolVersion: 5, expiryIntervalSeconds: 300, subscriptions: [{ filter: 'shared/old', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }], disconnectedAt: Date.now() });
    await old.close();
    const r = await start(await stores.open({ path }));
    const first = await connect(r.plain, { ...password('bob'), clientId: 'old-1' });
    expect(first.connack.sessionPresent).toBe(true); // unowned: resumed, and bound to bob from this CONNECT on
    await first.client.endAsync();
    expect(codeOf(await connect(r.plain, { ...password('alice'), clientId: 'old-1' }))).toBe(ReasonCode.NotAuthorized);
  });
});
