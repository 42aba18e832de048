import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { BrokerHooks } from '../../../src/broker/hooks.js';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import { compileAuthorization } from '../../../src/security/authorization.js';
import { parsePasswd, passwdLine } from '../../../src/security/passwd.js';
import { ClientDirectory, createPortHooks, type PortSecurity } from '../../../src/security/port-hooks.js';
import { notificationTopic, REQUEST_TOPIC, STATE_STORE_ID } from '../../../src/shared/state-store-wire.js';
import { encodeArray } from '../../../src/services/state-store/resp3-server.js';
import { startStateStore, type StateStoreService } from '../../../src/services/state-store/state-store-service.js';
import { silentLogger } from '../../../src/shared/log.js';
import { useBroker } from '../../helpers/start-broker.js';
import { within } from '../../helpers/state-store-client.js';

const users = parsePasswd([passwdLine('alice', 'pw'), passwdLine('mallory', 'pw'), passwdLine('bob', 'pw')].join('\n')).entries;
const authorizer = compileAuthorization({
  authorizationPolicies: {
    rules: [
      {
        principals: { usernames: ['alice'] },
        brokerResources: [
          { method: 'Connect' },
          { method: 'Publish', topics: ['devices/{principal.clientId}/#', REQUEST_TOPIC, 'clients/{principal.clientId}/#'] },
          { method: 'Subscribe', topics: ['devices/{principal.clientId}/#', 'clients/{principal.clientId}/#'] },
        ],
        stateStoreResources: [{ keyType: 'Pattern', keys: ['keys/{principal.clientId}/*'], method: 'ReadWrite' }],
      },
      {
        // bob may also receive state store key notifications (subscribe to the notification topics)
        principals: { usernames: ['bob'] },
        brokerResources: [
          { method: 'Connect' },
          { method: 'Publish', topics: [REQUEST_TOPIC, 'clients/{principal.clientId}/#'] },
          { method: 'Subscribe', topics: ['clients/{principal.clientId}/#', `clients/statestore/v1/${STATE_STORE_ID}/#`] },
        ],
        stateStoreResources: [{ keyType: 'Pattern', keys: ['keys/*'], method: 'ReadWrite' }],
      },
      { principals: { usernames: ['mallory'] }, brokerResources: [{ method: 'Publish', topics: ['#'] }] },
    ],
  },
});

const brokers = useBroker();
const servers: Server[] = [];
let stateStore: StateStoreService | undefined;
const clients: mqtt.MqttClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  stateStore?.stop();
  stateStore = undefined;
});

/** A broker with a state store, and a second port whose clients get the port hooks (authn `pw` + the rules). */
async function setUp(): Promise<{ open: number; secure: number }> {
  const broker = (await brokers.start()).broker;
  const directory = new ClientDirectory();
  stateStore = startStateStore(broker, { authorize: directory.stateStoreAuthorizer((id) => broker.identityOf(id)) });
  const security: PortSecurity = { authnName: 'pw', authnMethods: [], authorizer };
  const hooks = createPortHooks({ security: () => security, passwd: async () => users, logger: silentLogger, where: { listener: 'secure', port: 0 }, directory });
  const openHooks = createPortHooks({
    security: () => ({ authnName: undefined, authnMethods: undefined, authorizer: undefined }),
    passwd: async () => undefined,
    logger: silentLogger,
    where: { listener: 'default', port: 0 },
    directory,
  });
  return { open: await serve(openHooks), secure: await serve(hooks) };
}

async function serve(hooks: BrokerHooks): Promise<number> {
  const broker = brokers.current().broker;
  const server = createServer((socket) => broker.attach(socket, { hooks }));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return (server.address() as { port: number }).port;
}

async function connect(port: number, options: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...options });
  clients.push(client);
  return client;
}

/** The response topic the SDKs use for `clientId`. */
const responseTopicOf = (clientId: string): string => `clients/${clientId}/services/statestore/v1/${STATE_STORE_ID}/command/invoke/response`;

/** Publishes one state store request (QoS 1) answered on `responseTopic`. */
async function sendRequest(client: mqtt.MqttClient, clientId: string, request: string[], responseTopic: string, correlationData: Buffer): Promise<void> {
  await client.publishAsync(REQUEST_TOPIC, encodeArray(request), { qos: 1, properties: { responseTopic, correlationData, userProperties: { __ts: `${Date.now()}:0:${clientId}` } } });
}

/** Sends one state store request and resolves with the reply payload as text. */
async function invoke(client: mqtt.MqttClient, clientId: string, request: string[]): Promise<string> {
  const responseTopic = responseTopicOf(clientId);
  await client.subscribeAsync(responseTopic, { qos: 1 });
  const correlationData = Buffer.from(randomUUID().replaceAll('-', ''), 'hex');
  const reply = new Promise<string>((resolve) =>
    client.on('message', (topic, payload, packet) => {
      if (topic === responseTopic && packet.properties?.correlationData?.equals(correlationData)) resolve(payload.toString('latin1'));
    }),
  );
  await sendRequest(client, clientId, request, responseTopic, correlationData);
  return reply;
}

/** Every message `client` receives on topics matching `filter`, subscribed before it resolves. */
async function collect(client: mqtt.MqttClient, filter: string): Promise<{ topic: string; payload: string }[]> {
  const seen: { topic: string; payload: string }[] = [];
  client.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString('latin1') }));
  await client.subscribeAsync(filter, { qos: 1 });
  return seen;
}

/** Publishes a marker on `topic` from `client` and resolves once `receiver` got it (everything sent before it has arrived). */
async function flushThrough(client: mqtt.MqttClient, receiver: mqtt.MqttClient, topic: string): Promise<void> {
  const marker = `marker-${randomUUID()}`;
  const arrived = new Promise<void>((resolve) => receiver.on('message', (t, payload) => t === topic && payload.toString() === marker && resolve()));
  await client.publishAsync(topic, marker, { qos: 1 });
  await arrived;
}

describe('authorization rules on a port with authentication', () => {
  it('refuses CONNECT: no Connect grant 0x87, bad password 0x86, no method applies 0x87', async () => {
    const { secure } = await setUp();
    await expect(connect(secure, { username: 'mallory', password: 'pw' })).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    await expect(connect(secure, { username: 'alice', password: 'nope' })).rejects.toMatchObject({ code: ReasonCode.BadUserNameOrPassword });
    await expect(connect(secure, { username: 'nobody', password: 'pw' })).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    await expect(connect(secure, {})).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    await expect(connect(secure, { properties: { authenticationMethod: 'K8S-SAT', authenticationData: Buffer.from('t') } })).rejects.toMatchObject({ code: ReasonCode.BadAuthenticationMethod });
    const clients = brokers.current().broker.stats().clients;
    expect(clients.authenticationFailures).toBe(5); // failed attempts are counted
    expect(clients.rejectedConnections).toBe(5);
  });

  it('v5: denied publishes get PUBACK 0x87 and denied subscriptions SUBACK 0x87, with {principal.clientId}', async () => {
    const { secure } = await setUp();
    const alice = await connect(secure, { username: 'alice', password: 'pw', clientId: 'dev1' });
    await alice.publishAsync('devices/dev1/t', 'x', { qos: 1 });
    await expect(alice.publishAsync('devices/dev2/t', 'x', { qos: 1 })).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    expect((await alice.subscribeAsync('devices/dev1/#', { qos: 1 })).map((g) => g.qos)).toEqual([1]);
    await expect(alice.subscribeAsync('devices/#', { qos: 1 })).rejects.toThrow(/Not authorized/);
  });

  it('3.1.1: denied QoS 1 publishes are acknowledged and dropped; denied subscriptions get 0x80', async () => {
    const { open, secure } = await setUp();
    const watcher = await connect(open, { clientId: 'watcher' });
    await watcher.subscribeAsync('devices/#', { qos: 1 });
    const topics: string[] = [];
    watcher.on('message', (topic) => topics.push(topic));
    const alice = await connect(secure, { protocolVersion: 4, username: 'alice', password: 'pw', clientId: 'dev1' });
    await alice.publishAsync('devices/dev2/t', 'denied', { qos: 1 });
    const delivered = new Promise<void>((resolve) => watcher.once('message', () => resolve()));
    await alice.publishAsync('devices/dev1/t', 'allowed', { qos: 1 });
    await delivered;
    expect(topics).toEqual(['devices/dev1/t']);
    const suback = new Promise<unknown>((resolve) => alice.on('packetreceive', (packet) => packet.cmd === 'suback' && resolve(packet.granted)));
    await expect(alice.subscribeAsync('devices/dev2/#', { qos: 1 })).rejects.toThrow(); // mqtt.js reports 0x80 as an error
    expect(await suback).toEqual([0x80]);
  });

  it('a client id with a `/` widens no grant: topics and state store keys of {principal.clientId} rules are refused', async () => {
    const { secure } = await setUp();
    const intruder = await connect(secure, { username: 'alice', password: 'pw', clientId: 'dev1/x' });
    await expect(intruder.publishAsync('devices/dev1/x/t', 'x', { qos: 1 })).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    await expect(intruder.publishAsync('devices/dev1/t', 'x', { qos: 1 })).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    await expect(intruder.subscribeAsync('devices/dev1/x/#', { qos: 1 })).rejects.toThrow(/Not authorized/);
    const owner = await connect(secure, { username: 'alice', password: 'pw', clientId: 'dev1' });
    expect(await invoke(owner, 'dev1', ['SET', 'keys/dev1/x/a', 'mine'])).toBe('+OK\r\n');
    const dev1x = await connect(secure, { username: 'alice', password: 'pw', clientId: 'dev1-x' });
    expect(await invoke(dev1x, 'dev1-x', ['GET', 'keys/dev1-x/a'])).toBe('$-1\r\n'); // a plain id still has its grants
    // the intruder's SET of a key under keys/dev1/ is refused (keys/{principal.clientId}/* does not match)
    await intruder.publishAsync(REQUEST_TOPIC, encodeArray(['SET', 'keys/dev1/x/a', 'stolen']), { qos: 1, properties: { responseTopic: 'devices/dev1/x/r', correlationData: Buffer.from('01', 'hex'), userProperties: { __ts: `${Date.now()}:0:dev1/x` } } });
    expect(await invoke(owner, 'dev1', ['GET', 'keys/dev1/x/a'])).toBe('$4\r\nmine\r\n');
  });

  it('state store keys need a stateStoreResources grant on the secured port; the open port is unrestricted', async () => {
    const { open, secure } = await setUp();
    const alice = await connect(secure, { username: 'alice', password: 'pw', clientId: 'dev1' });
    expect(await invoke(alice, 'dev1', ['SET', 'keys/dev1/a', 'v'])).toBe('+OK\r\n');
    expect(await invoke(alice, 'dev1', ['GET', 'keys/dev1/a'])).toBe('$1\r\nv\r\n');
    expect(await invoke(alice, 'dev1', ['SET', 'keys/dev2/a', 'v'])).toBe('-ERR not authorized\r\n');
    const other = await connect(open, { clientId: 'anyone' });
    expect(await invoke(other, 'anyone', ['SET', 'keys/dev2/a', 'v'])).toBe('+OK\r\n');
  });
});

describe('state store response and notification topics under the requester\'s authorization', () => {
  it('a request whose response topic the client may not publish to executes nothing, publishes nothing there, and disconnects it (0x82)', async () => {
    const { open, secure } = await setUp();
    const watcher = await connect(open, { clientId: 'watcher' });
    const inbox = await collect(watcher, 'users/alice/inbox');
    const alice = await connect(secure, { username: 'alice', password: 'pw', clientId: 'dev1' });
    const disconnected = new Promise<number | undefined>((resolve) => alice.once('disconnect', (packet) => resolve(packet.reasonCode)));
    await sendRequest(alice, 'dev1', ['SET', 'keys/dev1/a', 'attacker-chosen'], 'users/alice/inbox', Buffer.from('01', 'hex'));
    expect(await within(disconnected, 5000, 'DISCONNECT')).toBe(ReasonCode.ProtocolError);
    const other = await connect(open, { clientId: 'anyone' });
    expect(await invoke(other, 'anyone', ['GET', 'keys/dev1/a'])).toBe('$-1\r\n'); // not executed
    await flushThrough(other, watcher, 'users/alice/inbox');
    expect(inbox.map((m) => m.payload)).toEqual([expect.stringMatching(/^marker-/)]); // only the marker arrived
  });

  it('a permitted response topic still gets its response', async () => {
    const { secure } = await setUp();
    const alice = await connect(secure, { username: 'alice', password: 'pw', clientId: 'dev1' });
    expect(await invoke(alice, 'dev1', ['SET', 'keys/dev1/a', 'v'])).toBe('+OK\r\n');
    expect(await invoke(alice, 'dev1', ['GET', 'keys/dev1/a'])).toBe('$1\r\nv\r\n');
  });

  it('KEYNOTIFY needs subscribe permission on the notification topic: refused without it, registered with it', async () => {
    const { open, secure } = await setUp();
    const watcher = await connect(open, { clientId: 'watcher' });
    const notifications = await collect(watcher, `clients/statestore/v1/${STATE_STORE_ID}/#`);
    const alice = await connect(secure, { username: 'alice', password: 'pw', clientId: 'dev1' });
    expect(await invoke(alice, 'dev1', ['KEYNOTIFY', 'keys/dev1/a'])).toBe('-ERR not authorized\r\n');
    const bob = await connect(secure, { username: 'bob', password: 'pw', clientId: 'b1' });
    const bobTopic = notificationTopic('b1', Buffer.from('keys/b1/a'));
    const bobGot = new Promise<string>((resolve) => bob.on('message', (topic, payload) => topic === bobTopic && resolve(payload.toString('latin1'))));
    await bob.subscribeAsync(bobTopic, { qos: 1 });
    expect(await invoke(bob, 'b1', ['KEYNOTIFY', 'keys/b1/a'])).toBe('+OK\r\n');
    expect(await invoke(alice, 'dev1', ['SET', 'keys/dev1/a', 'v'])).toBe('+OK\r\n'); // no registration: no notification
    expect(await invoke(bob, 'b1', ['SET', 'keys/b1/a', 'w'])).toBe('+OK\r\n');
    expect(await bobGot).toContain('NOTIFY');
    await flushThrough(watcher, watcher, `clients/statestore/v1/${STATE_STORE_ID}/marker`);
    expect(notifications.map((n) => n.topic)).toEqual([bobTopic, `clients/statestore/v1/${STATE_STORE_ID}/marker`]);
  });
});
