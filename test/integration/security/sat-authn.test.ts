import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IDisconnectPacket } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureSigningKey, loadSatKeyring } from '../../../src/instance/sat-keys.js';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import { createSatMethod } from '../../../src/security/authn/service-account-token.js';
import { compileAuthorization } from '../../../src/security/authorization.js';
import { ClientDirectory, createPortHooks, type PortSecurity } from '../../../src/security/port-hooks.js';
import { signJwt } from '../../../src/shared/jwt.js';
import { silentLogger } from '../../../src/shared/log.js';
import { satClaims } from '../../../src/shared/sat-token.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startBroker, type RunningBroker } from '../../helpers/start-broker.js';

const METHOD = 'K8S-SAT';
const authorizer = compileAuthorization({
  authorizationPolicies: {
    rules: [
      {
        principals: { attributes: [{ group: 'sensors' }] },
        brokerResources: [{ method: 'Connect' }, { method: 'Publish', topics: ['sensors/{principal.attributes.floor}/#'] }],
      },
      { principals: { attributes: [{ group: 'admins' }] }, brokerResources: [{ method: 'Connect' }, { method: 'Publish', topics: ['#'] }] },
    ],
  },
});

let running: RunningBroker;
let secrets: string;
let port: number;
const servers: Server[] = [];
const clients: mqtt.MqttClient[] = [];
const raws: RawClient[] = [];

beforeEach(async () => {
  secrets = await mkdtemp(join(tmpdir(), 'sat-it-'));
  running = await startBroker();
  // Clock skew 0: a token's expiry is the instant the engine disconnects (tests need no slack).
  const sat = createSatMethod({ audiences: ['aud'], loadKeys: () => loadSatKeyring(secrets), clockSkewSeconds: 0, logger: silentLogger });
  const security: PortSecurity = { authnName: 'sat', authnMethods: [sat], authorizer };
  const hooks = createPortHooks({ security: () => security, passwd: async () => undefined, logger: silentLogger, where: { listener: 'sat', port: 0 }, directory: new ClientDirectory() });
  const server = createServer((socket) => running.broker.attach(socket, { hooks }));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  port = (server.address() as { port: number }).port;
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
  for (const r of raws.splice(0)) r.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  await running.stop();
  await rm(secrets, { recursive: true, force: true });
});

/** A token of the instance key, valid for `seconds` from now (fractions allowed). */
async function mint(seconds: number, attributes: Record<string, string> = { group: 'sensors', floor: '1' }, audiences = ['aud'], subject = 'sensor-1'): Promise<Buffer> {
  const key = await ensureSigningKey(secrets);
  const now = Date.now() / 1000;
  const claims = { ...satClaims({ issuer: 'it', audiences, issuedAt: Math.floor(now), ttlSeconds: 1, attributes, subject }), exp: now + seconds };
  return Buffer.from(signJwt(claims, key.privateKey, key.kid));
}

async function connect(token: Buffer, options: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options,
    properties: { authenticationMethod: METHOD, authenticationData: token, ...options.properties },
  });
  clients.push(client);
  return client;
}

async function raw(token: Buffer, clientId = 'raw'): Promise<RawClient> {
  const client = await RawClient.open(port);
  raws.push(client);
  const connack = await client.connect({ clientId, properties: { authenticationMethod: METHOD, authenticationData: token } });
  expect(connack.reasonCode).toBe(ReasonCode.Success);
  return client;
}

function refusal(promise: Promise<unknown>): Promise<{ code: number; message: string }> {
  return promise.then(
    () => {
      throw new Error('expected the CONNECT to be refused');
    },
    (err: { code: number; message: string }) => err,
  );
}

describe('ServiceAccountToken (K8S-SAT) on a real port', () => {
  it('accepts a token, echoes the method in CONNACK, and authorizes with its attributes', async () => {
    const client = await connect(await mint(60));
    const probe = await RawClient.open(port);
    raws.push(probe);
    const connack = await probe.connect({ clientId: 'probe', properties: { authenticationMethod: METHOD, authenticationData: await mint(60) } });
    expect(connack.properties?.authenticationMethod).toBe(METHOD); // [MQTT-4.12.0-5]
    await client.publishAsync('sensors/1/t', 'x', { qos: 1 });
    await expect(client.publishAsync('sensors/2/t', 'x', { qos: 1 })).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
  });

  it('refuses bad tokens with 0x87 and a reason; clients already connected are untouched', async () => {
    const bystander = await connect(await mint(60));
    const cases: [Buffer, RegExp][] = [
      [Buffer.from('not.a.jwt!'), /not a JWT/],
      [await mint(-30), /the token expired at/],
      [await mint(60, { group: 'sensors' }, ['other']), /audience \(other\) is none of the accepted audiences \(aud\)/],
      [Buffer.alloc(20_000, 0x61), /more than the 16384 allowed/],
      [await mint(60, { group: 'visitors' }), /not authorized to connect/], // valid token, but no Connect grant for its attributes
    ];
    for (const [token, reason] of [...cases, [Buffer.alloc(0), /no token/] as [Buffer, RegExp]]) {
      const client = await RawClient.open(port);
      raws.push(client);
      const connack = await client.connect({ clientId: 'bad', properties: { authenticationMethod: METHOD, ...(token.length > 0 ? { authenticationData: token } : {}) } });
      expect(connack).toMatchObject({ reasonCode: ReasonCode.NotAuthorized, properties: { reasonString: expect.stringMatching(reason) } });
      await client.closed;
    }
    expect((await refusal(connect(await mint(-30)))).code).toBe(ReasonCode.NotAuthorized); // MQTT.js sees the code
    await bystander.publishAsync('sensors/1/still-here', 'x', { qos: 1 });
  });

  it('disconnects a client whose token expires (DISCONNECT 0x87 with the reason), and only that one', async () => {
    const other = await connect(await mint(60), { clientId: 'other' });
    const shortLived = await connect(await mint(1), { clientId: 'short' });
    const disconnect = new Promise<IDisconnectPacket>((resolve) => shortLived.once('disconnect', resolve));
    const closed = new Promise<void>((resolve) => shortLived.once('close', () => resolve()));
    const packet = await disconnect;
    await closed;
    expect(packet.reasonCode).toBe(ReasonCode.NotAuthorized);
    expect(packet.properties?.reasonString).toMatch(/the credentials expired at .*re-authenticate \(AUTH 0x19\)/);
    await other.publishAsync('sensors/1/t', 'x', { qos: 1 });
  });

  it('MQTT 3.1.1: a K8S-SAT username with the token as password; the connection closes at expiry', async () => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, reconnectPeriod: 0, clientId: 'v3', username: 'K8S-SAT', password: await mint(1) });
    clients.push(client);
    await client.publishAsync('sensors/1/t', 'x', { qos: 1 });
    await new Promise<void>((resolve) => client.once('close', () => resolve()));
    const expired = await RawClient.open(port, 4);
    raws.push(expired);
    expect((await expired.connect({ clientId: 'v3b', username: 'K8S-SAT', password: await mint(-5) })).returnCode).toBe(5); // not authorized
  });

  it('re-authentication with AUTH 0x19 answers AUTH 0x00, moves the expiry and updates the attributes', async () => {
    const client = await raw(await mint(1.5), 'reauth');
    const control = await connect(await mint(1.5), { clientId: 'control' }); // same expiry, no re-authentication
    client.send({ cmd: 'auth', reasonCode: ReasonCode.ReAuthenticate, properties: { authenticationMethod: METHOD, authenticationData: await mint(60, { group: 'admins' }) } });
    expect(await client.next()).toMatchObject({ cmd: 'auth', reasonCode: ReasonCode.Success, properties: { authenticationMethod: METHOD } });
    // The new attributes apply at once: admins may publish anywhere.
    client.send({ cmd: 'publish', topic: 'anywhere', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false });
    expect(await client.nextOf('puback')).toMatchObject({ messageId: 1, reasonCode: ReasonCode.NoMatchingSubscribers });
    await new Promise<void>((resolve) => control.once('close', () => resolve())); // the old expiry has passed
    client.send({ cmd: 'pingreq' });
    expect(await client.next()).toMatchObject({ cmd: 'pingresp' });
    expect(client.isClosed).toBe(false);
  });

  it('MQTT.js handles the AUTH 0x00 answer of a re-authentication', async () => {
    const client = await connect(await mint(60));
    const answered = new Promise<number | undefined>((resolve) => {
      client.handleAuth = (packet, callback) => {
        resolve(packet.reasonCode);
        callback();
      };
    });
    client['_sendPacket']({ cmd: 'auth', reasonCode: ReasonCode.ReAuthenticate, properties: { authenticationMethod: METHOD, authenticationData: await mint(60) } });
    expect(await answered).toBe(ReasonCode.Success);
    await client.publishAsync('sensors/1/t', 'x', { qos: 1 });
  });

  it('a failed re-authentication gets DISCONNECT 0x87 with the reason, and the connection closes', async () => {
    const client = await raw(await mint(60), 'fails');
    const bystander = await connect(await mint(60), { clientId: 'bystander' });
    client.send({ cmd: 'auth', reasonCode: ReasonCode.ReAuthenticate, properties: { authenticationMethod: METHOD, authenticationData: await mint(-10) } });
    expect(await client.next()).toMatchObject({ cmd: 'disconnect', reasonCode: ReasonCode.NotAuthorized, properties: { reasonString: expect.stringMatching(/expired/) } });
    await client.closed;
    await bystander.publishAsync('sensors/1/t', 'x', { qos: 1 });
  });

  it('a re-authentication as another identity (a token of another subject) gets DISCONNECT 0x87: the session stays its owner\'s', async () => {
    const client = await raw(await mint(60), 'switch');
    client.send({ cmd: 'auth', reasonCode: ReasonCode.ReAuthenticate, properties: { authenticationMethod: METHOD, authenticationData: await mint(60, { group: 'admins' }, ['aud'], 'sensor-2') } });
    expect(await client.next()).toMatchObject({ cmd: 'disconnect', reasonCode: ReasonCode.NotAuthorized, properties: { reasonString: expect.stringMatching(/another identity than the session owner/) } });
    await client.closed;
  });

  it.each([
    ['another method', { reasonCode: ReasonCode.ReAuthenticate, properties: { authenticationMethod: 'SCRAM-SHA-256' } }, /must use the CONNECT's authentication method K8S-SAT, not SCRAM-SHA-256/],
    ['no method', { reasonCode: ReasonCode.ReAuthenticate }, /not none/],
    ['continue (0x18)', { reasonCode: ReasonCode.ContinueAuthentication, properties: { authenticationMethod: METHOD } }, /AUTH reason 0x18 is unexpected/],
    ['success (0x00)', { reasonCode: ReasonCode.Success, properties: { authenticationMethod: METHOD } }, /AUTH reason 0x00 is unexpected/],
  ])('AUTH with %s is a protocol error (DISCONNECT 0x82)', async (_name, fields, reason) => {
    const client = await raw(await mint(60), `proto-${_name.length}`);
    client.send({ cmd: 'auth', ...fields });
    expect(await client.next()).toMatchObject({ cmd: 'disconnect', reasonCode: ReasonCode.ProtocolError, properties: { reasonString: expect.stringMatching(reason) } });
    await client.closed;
  });

  it('AUTH from a client that connected without an authentication method is a protocol error', async () => {
    const open = await RawClient.open(running.port);
    raws.push(open);
    await open.connect({ clientId: 'plain' });
    open.send({ cmd: 'auth', reasonCode: ReasonCode.ReAuthenticate, properties: { authenticationMethod: METHOD } });
    expect(await open.next()).toMatchObject({ cmd: 'disconnect', reasonCode: ReasonCode.ProtocolError });
  });
});
