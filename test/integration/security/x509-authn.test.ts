/**
 * X509 authentication end to end inside one process: the real listener manager (TLS with client
 * certificates requested, MQTT and WebSockets), the real port security table compiling the
 * resources, the real engine, and real MQTT.js clients presenting certificates made with openssl.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../../src/broker/broker.js';
import type { ListenerPort, ListenerProperties } from '../../../src/config/types.js';
import type { RuntimeState } from '../../../src/instance/runtime-file.js';
import { passwdLine } from '../../../src/security/passwd.js';
import { ListenerManager, type PortOrigin } from '../../../src/server/listeners.js';
import { PortSecurityTable } from '../../../src/server/security.js';
import type { Logger } from '../../../src/shared/log.js';
import { issueCert, makeCa, makeServerSecret, type CertFiles } from '../../helpers/certs.js';

interface LogLine {
  readonly level: string;
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/** A logger that records every line. */
function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => ((fields: Record<string, unknown>, message: string) => lines.push({ level, fields, message })) as Logger['warn'];
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

let dir: string;
let secrets: string;
let serverCa: CertFiles;
/** Client certificates by name (and the client CA bundle, `root`). */
const certs: Record<string, CertFiles> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'x509-'));
  secrets = join(dir, 'secrets');
  serverCa = await makeServerSecret(join(secrets, 'srv'));
  const pki = join(dir, 'pki');
  const root = await makeCa(pki, 'root', '/CN=Contoso Root CA/OU=Engineering/C=US');
  const intermediate = await issueCert(pki, 'int', root, { subject: '/CN=Contoso Intermediate CA', ca: true });
  const other = await makeCa(pki, 'other', '/CN=Other CA');
  Object.assign(certs, {
    root,
    intermediate,
    other,
    fan: await issueCert(pki, 'fan', intermediate, { subject: '/CN=smart-fan' }),
    thermostat: await issueCert(pki, 'thermostat', intermediate, { subject: '/CN=thermostat/O=Fabrikam' }),
    direct: await issueCert(pki, 'direct', root, { subject: '/CN=direct-dev' }),
    noCn: await issueCert(pki, 'nocn', root, { subject: '/O=Fabrikam' }),
    rogue: await issueCert(pki, 'rogue', other, { subject: '/CN=smart-fan' }),
    expired: await issueCert(pki, 'expired', root, { subject: '/CN=old-dev', days: -1 }),
  });
  await writeFile(join(secrets, 'passwd'), `${passwdLine('alice', 'pw')}\n`);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const x509Method = {
  method: 'X509',
  x509Settings: {
    trustedClientCaCert: 'client-ca',
    authorizationAttributes: {
      root: { subject: 'CN = Contoso Root CA, OU = Engineering, C = US', attributes: { organization: 'contoso' } },
      intermediate: { subject: 'CN = Contoso Intermediate CA', attributes: { city: 'seattle' } },
      smartfan: { subject: 'CN = smart-fan', attributes: { building: '17' } },
    },
  },
};

const rules = [
  { principals: { usernames: ['alice'], attributes: [{ organization: 'contoso' }, { city: 'seattle' }, { building: '17' }] }, brokerResources: [{ method: 'Connect' }] },
  { principals: { usernames: ['smart-fan', 'thermostat', 'direct-dev', 'alice'] }, brokerResources: [{ method: 'Publish', topics: ['users/{principal.username}/#'] }, { method: 'Subscribe', topics: ['users/{principal.username}/#'] }] },
  { principals: { attributes: [{ building: '17' }] }, brokerResources: [{ method: 'Publish', topics: ['buildings/{principal.attributes.building}/#'] }] },
  { principals: { attributes: [{ city: 'seattle' }] }, brokerResources: [{ method: 'Publish', topics: ['cities/{principal.attributes.city}/#'] }] },
  { principals: { attributes: [{ organization: 'contoso' }] }, brokerResources: [{ method: 'Publish', topics: ['orgs/{principal.attributes.organization}/#'] }] },
];

const tlsPort = (extra: Partial<ListenerPort> = {}): ListenerPort => ({
  port: 0,
  tls: { mode: 'Manual', manual: { secretRef: 'srv' } },
  authenticationRef: 'x509',
  authorizationRef: 'rules',
  ...extra,
});

const state = (): RuntimeState => ({
  version: 1,
  host: '127.0.0.1',
  broker: {},
  listeners: {
    tls: { ports: [tlsPort()] },
    wss: { ports: [tlsPort({ protocol: 'WebSockets' })] },
    plain: { ports: [{ port: 0, authenticationRef: 'x509', authorizationRef: 'rules' }] },
  },
  authentications: { x509: { authenticationMethods: [x509Method] } },
  authorizations: { rules: { authorizationPolicies: { rules } } },
});

let broker: Broker | undefined;
let listeners: ListenerManager | undefined;
let logger: ReturnType<typeof recordingLogger>;
const clients: mqtt.MqttClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
  await listeners?.closeAll();
  await broker?.close();
  listeners = undefined;
  broker = undefined;
  await rm(join(secrets, 'client-ca'), { recursive: true, force: true });
});

/** Puts `pem` as the trusted client CA (`secrets/client-ca/client_ca.pem`). */
async function trustFile(pem: Buffer | string): Promise<void> {
  await mkdir(join(secrets, 'client-ca'), { recursive: true });
  await writeFile(join(secrets, 'client-ca', 'client_ca.pem'), pem);
}

/** Starts the broker with the listeners of `state()`; returns the actual port of each listener. */
async function start(): Promise<Record<string, number>> {
  logger = recordingLogger();
  const engine = createBroker({ sysIntervalSeconds: 0, logger });
  broker = engine;
  const security = new PortSecurityTable(join(secrets, 'passwd'), logger);
  const attach = (stream: Duplex, o: PortOrigin): void => {
    const hooks = security.hooksOf(o.listener, o.port);
    engine.attach(stream, { ...(hooks !== undefined ? { hooks } : {}), info: { listener: o.listener, port: o.port, ...(o.clientCertificate ? { clientCertificate: o.clientCertificate } : {}) } });
  };
  const s = state();
  security.update(s);
  listeners = new ListenerManager('127.0.0.1', attach, logger, secrets);
  await listeners.sync(s.listeners as unknown as Record<string, ListenerProperties>);
  return Object.fromEntries(listeners.openPorts().map((p) => [p.listener, p.port]));
}

/** TLS options presenting `name`'s certificate (and the intermediate with `withChain`). */
function presenting(name: string | undefined, withChain = false): mqtt.IClientOptions {
  const options: mqtt.IClientOptions = { ca: serverCa.certPem, servername: 'localhost' };
  if (name === undefined) return options;
  const own = certs[name] as CertFiles;
  const cert = withChain ? Buffer.concat([own.certPem, (certs['intermediate'] as CertFiles).certPem]) : own.certPem;
  return { ...options, cert, key: own.keyPem };
}

async function connect(url: string, options: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...options });
  clients.push(client);
  return client;
}

/** Connects expecting a refusal; resolves with the CONNACK's reason code and reason string. */
async function refused(url: string, options: mqtt.IClientOptions): Promise<{ code: number | undefined; reason: string | undefined }> {
  const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...options });
  clients.push(client);
  return new Promise((resolve, reject) => {
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'connack') resolve({ code: packet.reasonCode, reason: packet.properties?.reasonString });
    });
    client.on('connect', () => reject(new Error('connected, expected a refusal')));
    client.on('error', () => undefined);
  });
}

/** Publishes at QoS 1; resolves with the PUBACK reason code (0 when accepted). */
async function pubackCode(client: mqtt.MqttClient, topic: string): Promise<number> {
  try {
    await client.publishAsync(topic, 'x', { qos: 1 });
    return 0; // MQTT.js rejects a PUBACK with a reason code >= 0x80
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

describe('X509 authentication', () => {
  it('accepts a certificate chaining to the trusted CA: CN is the username, attributes from the nearest subject entry', async () => {
    await trustFile(certs['root']!.certPem);
    const ports = await start();
    const url = `mqtts://localhost:${ports['tls']}`;
    // the CONNECT's username is not the one authorization sees: the certificate's CN is
    const fan = await connect(url, { ...presenting('fan', true), clientId: 'fan-1', username: 'impostor' });
    const echo = new Promise<string>((resolve) => fan.once('message', (topic) => resolve(topic)));
    await fan.subscribeAsync('users/smart-fan/#', { qos: 1 });
    expect(await pubackCode(fan, 'users/smart-fan/status')).toBe(0);
    expect(await echo).toBe('users/smart-fan/status');
    expect(await pubackCode(fan, 'users/impostor/status')).toBe(0x87);
    expect(await pubackCode(fan, 'buildings/17/temp')).toBe(0);
    expect(await pubackCode(fan, 'buildings/18/temp')).toBe(0x87);
    // matching stops at the first entry from the leaf: smart-fan does not get the intermediate's city
    expect(await pubackCode(fan, 'cities/seattle/x')).toBe(0x87);

    const thermostat = await connect(url, { ...presenting('thermostat', true), clientId: 'thermo-1' });
    expect(await pubackCode(thermostat, 'cities/seattle/x')).toBe(0);
    expect(await pubackCode(thermostat, 'buildings/17/temp')).toBe(0x87);

    const direct = await connect(url, { ...presenting('direct'), clientId: 'direct-1', protocolVersion: 4 });
    expect(direct.connected).toBe(true); // MQTT 3.1.1 too; Connect granted by the root's organization
    const v5 = await connect(url, { ...presenting('direct'), clientId: 'direct-2' });
    expect(await pubackCode(v5, 'orgs/contoso/x')).toBe(0);
  });

  it('serves certificate clients on WebSockets over TLS', async () => {
    await trustFile(certs['root']!.certPem);
    const ports = await start();
    const client = await connect(`wss://localhost:${ports['wss']}/mqtt`, { ...presenting('fan', true), clientId: 'ws-fan' });
    expect(await pubackCode(client, 'buildings/17/temp')).toBe(0);
  });

  it('lets clients without a certificate fall through to the next method, and refuses them when none applies', async () => {
    await trustFile(certs['root']!.certPem);
    const ports = await start();
    const url = `mqtts://localhost:${ports['tls']}`;
    const alice = await connect(url, { ...presenting(undefined), clientId: 'alice-1', username: 'alice', password: 'pw' });
    expect(await pubackCode(alice, 'users/alice/x')).toBe(0);
    const nobody = await refused(url, { ...presenting(undefined), clientId: 'nobody' });
    expect(nobody.code).toBe(0x87);
    expect(nobody.reason).toMatch(/no authentication method/);
  });

  it('refuses with 0x87 a certificate from another CA, an expired one, one without its intermediate, and one without CN', async () => {
    await trustFile(certs['root']!.certPem);
    const ports = await start();
    const url = `mqtts://localhost:${ports['tls']}`;
    const rogue = await refused(url, { ...presenting('rogue'), clientId: 'rogue' });
    expect(rogue).toMatchObject({ code: 0x87, reason: expect.stringMatching(/X509: client certificate 'CN=smart-fan' does not chain to a trusted CA/) });
    const expired = await refused(url, { ...presenting('expired'), clientId: 'old' });
    expect(expired).toMatchObject({ code: 0x87, reason: expect.stringMatching(/client certificate 'CN=old-dev' expired on/) });
    const partial = await refused(url, { ...presenting('fan'), clientId: 'fan-no-chain' });
    expect(partial.reason).toMatch(/does not chain to a trusted CA/);
    const noCn = await refused(url, { ...presenting('noCn'), clientId: 'no-cn' });
    expect(noCn.reason).toMatch(/no common name/);
    const v4 = mqtt.connect(url, { ...presenting('rogue'), protocolVersion: 4, reconnectPeriod: 0, clientId: 'rogue-v4' });
    clients.push(v4);
    const returnCode = await new Promise<number>((resolve) => v4.on('packetreceive', (p) => p.cmd === 'connack' && resolve(p.returnCode ?? -1)));
    expect(returnCode).toBe(5); // 3.1.1: not authorized
    const refusals = logger.lines.filter((l) => l.level === 'warn' && l.message.startsWith('connection refused: X509'));
    expect(refusals.map((l) => l.fields['clientId'])).toEqual(['rogue', 'old', 'fan-no-chain', 'no-cn', 'rogue-v4']);
  });

  it('warns when the trusted CA is malformed, refuses certificate clients meanwhile, and uses the CA once fixed without reapplying', async () => {
    await trustFile('-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
    const ports = await start();
    const warnings = logger.lines.filter((l) => l.level === 'warn').map((l) => l.message);
    expect(warnings).toContainEqual(expect.stringMatching(/X509 trusted client CA 'client-ca': client_ca\.pem: malformed certificate/));
    expect(warnings).toContainEqual(expect.stringMatching(/X509 trusted client CA 'client-ca' unavailable .*clients presenting a certificate are refused/));
    const url = `mqtts://localhost:${ports['tls']}`;
    const meanwhile = await refused(url, { ...presenting('fan', true), clientId: 'fan-early' });
    expect(meanwhile).toMatchObject({ code: 0x87, reason: expect.stringMatching(/trusted client CA 'client-ca' unavailable/) });
    await trustFile(Buffer.concat([Buffer.from('# bundle\n'), certs['other']!.certPem, certs['root']!.certPem]));
    const fan = await connect(url, { ...presenting('fan', true), clientId: 'fan-late' });
    expect(await pubackCode(fan, 'buildings/17/temp')).toBe(0);
  });

  it('warns that X509 needs TLS on a plain port, where it does not apply', async () => {
    await trustFile(certs['root']!.certPem);
    const ports = await start();
    const warning = logger.lines.find((l) => l.level === 'warn' && /uses X509, which needs TLS/.test(l.message));
    expect(warning?.fields).toMatchObject({ listener: 'plain' });
    const alice = await connect(`mqtt://127.0.0.1:${ports['plain']}`, { clientId: 'alice-plain', username: 'alice', password: 'pw' });
    expect(alice.connected).toBe(true);
  });
});
