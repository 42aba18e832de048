import { X509Certificate } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createNetServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuthenticationRequest, BrokerHooks } from '../../../src/broker/hooks.js';
import type { RuntimeState } from '../../../src/instance/runtime-file.js';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import { compileAuthorization } from '../../../src/security/authorization.js';
import { createCustomMethod } from '../../../src/security/authn/custom.js';
import type { AuthnMethod } from '../../../src/security/authn/method.js';
import { parsePasswd, passwdLine } from '../../../src/security/passwd.js';
import { ClientDirectory, createPortHooks } from '../../../src/security/port-hooks.js';
import { PortSecurityTable } from '../../../src/server/security.js';
import type { Logger } from '../../../src/shared/log.js';
import { issueCert, makeCa, makeServerPki, type CertFiles } from '../../helpers/certs.js';
import { startCustomAuthServer, type Answer, type CustomAuthServer, type SeenRequest } from '../../helpers/custom-auth-server.js';
import { useBroker } from '../../helpers/start-broker.js';

let dir: string;
let secretsDir: string;
let auth: CustomAuthServer;
let untrusted: CustomAuthServer;
let closedPort: number;
let serverPki: { ca: CertFiles; server: CertFiles };
const PAST = '2001-01-01T00:00:00Z';

/** The test server's policy, by username (AIO API 0.5.0 answers). */
function answer(request: SeenRequest): Answer {
  const username = request.body['username'];
  const password = typeof request.body['password'] === 'string' ? Buffer.from(request.body['password'], 'base64').toString() : undefined;
  if (request.url.searchParams.get('api-version') !== '0.5.0') return { status: 422, body: { supportedVersions: ['0.5.0'] } };
  if (request.headers['x-api-key'] !== 'k3y') return { status: 401, body: 'missing api key' };
  switch (username) {
    case 'alice':
      return password === 'pw' ? { status: 200, body: { attributes: { group: 'g1' }, expiry: '2099-01-01T00:00:00Z' } } : { status: 403, body: { reason: 134, message: 'wrong password' } };
    case 'slow':
      return 'hang';
    case 'garbled':
      return { status: 200, body: '{"attributes": {' };
    case 'boom':
      return { status: 500, body: 'internal error' };
    case 'huge':
      return { status: 200, body: `{"attributes":{"a":"${'x'.repeat(100_000)}"}}` };
    case 'expired':
      return { status: 200, body: { attributes: {}, expiry: PAST } };
    case 'brief':
      return { status: 200, body: { attributes: { group: 'g1' }, expiry: new Date(Date.now() + 1000).toISOString() } };
    default:
      return { status: 403, body: { reason: 135 } };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ops-cauth-'));
  serverPki = await makeServerPki(join(dir, 'pki'));
  const brokerClient = await issueCert(join(dir, 'pki'), 'broker', serverPki.ca, { subject: '/CN=ops-broker' });
  const otherCa = await makeCa(join(dir, 'other'), 'other');
  const otherServer = await issueCert(join(dir, 'other'), 'server', otherCa, { subject: '/CN=localhost', san: 'DNS:localhost,IP:127.0.0.1' });
  secretsDir = join(dir, 'secrets');
  await mkdir(join(secretsDir, 'auth-ca'), { recursive: true });
  await mkdir(join(secretsDir, 'broker-client'), { recursive: true });
  await copyFile(serverPki.ca.cert, join(secretsDir, 'auth-ca', 'ca.crt'));
  await copyFile(brokerClient.cert, join(secretsDir, 'broker-client', 'tls.crt'));
  await copyFile(brokerClient.key, join(secretsDir, 'broker-client', 'tls.key'));
  await mkdir(join(secretsDir, 'bad-ca'), { recursive: true });
  await writeFile(join(secretsDir, 'bad-ca', 'ca.crt'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  await mkdir(join(secretsDir, 'wrong-key'), { recursive: true });
  await copyFile(brokerClient.cert, join(secretsDir, 'wrong-key', 'tls.crt'));
  await copyFile(serverPki.server.key, join(secretsDir, 'wrong-key', 'tls.key'));
  await mkdir(join(secretsDir, 'bad-key'), { recursive: true });
  await copyFile(brokerClient.cert, join(secretsDir, 'bad-key', 'tls.crt'));
  await writeFile(join(secretsDir, 'bad-key', 'tls.key'), 'not a key');
  auth = await startCustomAuthServer(serverPki.server, answer, serverPki.ca);
  untrusted = await startCustomAuthServer(otherServer, () => ({ status: 200, body: { attributes: {} } }));
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  closedPort = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});
afterAll(async () => {
  await auth?.close();
  await untrusted?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A logger that keeps what it is given. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (fields: Readonly<Record<string, unknown>>, message: string) => lines.push(`${level} ${message} ${JSON.stringify(fields)}`);
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

const settings = (endpoint: string, extra: Record<string, unknown> = {}) => ({
  method: 'Custom',
  customSettings: { endpoint, caCertConfigMap: 'auth-ca', auth: { x509: { secretRef: 'broker-client' } }, headers: { 'x-api-key': 'k3y' }, ...extra },
});
const method = (config: ReturnType<typeof settings>, logger: Logger = recordingLogger(), timeoutMs?: number): AuthnMethod =>
  createCustomMethod(config, { logger, secretsDir }, timeoutMs === undefined ? {} : { timeoutMs });
const connectReq = (username: string | undefined, password?: string, more: Partial<AuthenticationRequest> = {}): AuthenticationRequest => ({
  connection: {},
  clientId: `c-${username ?? 'anon'}`,
  username,
  password: password === undefined ? undefined : Buffer.from(password),
  protocolVersion: 5,
  authenticationMethod: undefined,
  authenticationData: undefined,
  ...more,
});

describe('Custom method against a real HTTPS server', () => {
  it('POSTs the CONNECT as AIO API 0.5.0 with the headers and client certificate, and passes with attributes', async () => {
    const logger = recordingLogger();
    const der = (pem: Buffer): Buffer => Buffer.from(pem.toString().replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const chain = [der(serverPki.server.certPem), der(serverPki.ca.certPem)]; // stands in for a client's certificate and its issuer
    const before = auth.seen.length;
    const outcome = await method(settings(auth.endpoint), logger).authenticate(
      connectReq('alice', 'pw', { connection: { clientCertificate: { subject: { CN: 'localhost' }, raw: chain[0] as Buffer, chain } } }),
    );
    expect(outcome).toEqual({ kind: 'allow', attributes: { group: 'g1' }, extras: { expiresAt: Date.parse('2099-01-01T00:00:00Z') } });
    const seen = auth.seen[before] as SeenRequest;
    expect(seen.method).toBe('POST');
    expect(seen.url.pathname).toBe('/auth');
    expect(seen.url.searchParams.get('api-version')).toBe('0.5.0');
    expect(seen.headers['content-type']).toBe('application/json');
    expect(seen.headers['x-api-key']).toBe('k3y');
    expect(seen.clientCn).toBe('ops-broker');
    expect(seen.body).toEqual({ type: 'connect', username: 'alice', password: Buffer.from('pw').toString('base64'), certs: expect.any(String) });
    const pems = String(seen.body['certs']).match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
    expect(pems.map((p) => new X509Certificate(p).subject)).toEqual(['CN=localhost', 'CN=ca test CA']);
    expect(logger.lines).toEqual([]);
  });

  it('a 403 denies with the server reason code; the server message is logged, not sent to the client', async () => {
    const logger = recordingLogger();
    const outcome = await method(settings(auth.endpoint), logger).authenticate(connectReq('alice', 'wrong'));
    expect(outcome).toEqual({ kind: 'deny', reasonCode: ReasonCode.BadUserNameOrPassword, reason: 'refused by the custom authentication server (0x86)' });
    expect(logger.lines.join('\n')).toContain('wrong password');
    expect(await method(settings(auth.endpoint)).authenticate(connectReq('mallory', 'x'))).toMatchObject({ kind: 'deny', reasonCode: ReasonCode.NotAuthorized });
    expect(await method(settings(auth.endpoint)).authenticate(connectReq('expired', 'x'))).toMatchObject({ kind: 'deny', reasonCode: ReasonCode.NotAuthorized, reason: expect.stringContaining('has passed') });
  });

  it('is not relevant (and logs why, without credentials) when the server cannot give a decision', async () => {
    const logger = recordingLogger();
    const cases: Array<[AuthnMethod, string, RegExp]> = [
      [method(settings(`https://127.0.0.1:${closedPort}/`), logger), 'alice', /connection refused/],
      [method(settings(untrusted.endpoint), logger), 'alice', /certificate is not trusted/],
      [method(settings(auth.endpoint, { caCertConfigMap: undefined }), logger), 'alice', /certificate is not trusted/], // system CAs do not know the test CA
      [method(settings(auth.endpoint), logger), 'garbled', /200 with a body that is not JSON/],
      [method(settings(auth.endpoint), logger), 'boom', /HTTP 500: internal error/],
      [method(settings(auth.endpoint), logger), 'huge', /answer is larger than 65536 bytes/],
      [method(settings(auth.endpoint, { headers: {} }), logger), 'alice', /HTTP 401/],
      [method(settings(auth.endpoint, { caCertConfigMap: 'nope' }), logger), 'alice', /caCertConfigMap 'nope' has no CA certificate \(no \.crt or \.pem file in .*secrets\/nope\)/],
      [method(settings(auth.endpoint, { auth: { x509: { secretRef: 'missing' } } }), logger), 'alice', /secretRef 'missing' needs .*missing\/tls\.crt/],
      [method(settings(auth.endpoint, { auth: undefined }), logger), 'alice', /the server requires a client certificate/],
      [method(settings(auth.endpoint, { caCertConfigMap: 'bad-ca' }), logger), 'alice', /caCertConfigMap 'bad-ca' holds a malformed PEM certificate/],
      [method(settings(auth.endpoint, { auth: { x509: { secretRef: 'wrong-key' } } }), logger), 'alice', /tls\.key does not belong to tls\.crt/],
      [method(settings(auth.endpoint, { auth: { x509: { secretRef: 'bad-key' } } }), logger), 'alice', /tls\.key is not a PEM private key/],
    ];
    for (const [m, username, why] of cases) {
      const outcome = await m.authenticate(connectReq(username, 'pw-s3cret'));
      expect(outcome.kind, `${username} ${why}`).toBe('notRelevant');
      expect(outcome.kind === 'notRelevant' ? outcome.reason : '').toMatch(why);
    }
    const log = logger.lines.join('\n');
    expect(log).toContain('trying the next method');
    expect(log).not.toContain('pw-s3cret');
    expect(log).not.toContain(Buffer.from('pw-s3cret').toString('base64'));
    expect(log).not.toContain('k3y');
  });

  it('uses a CA put in place later without re-applying', async () => {
    await mkdir(join(secretsDir, 'later-ca'), { recursive: true });
    const m = method(settings(auth.endpoint, { caCertConfigMap: 'later-ca' }));
    expect(await m.authenticate(connectReq('alice', 'pw'))).toMatchObject({ kind: 'notRelevant', reason: expect.stringContaining('no .crt or .pem file') });
    await copyFile(serverPki.ca.cert, join(secretsDir, 'later-ca', 'ca.pem'));
    expect(await m.authenticate(connectReq('alice', 'pw'))).toMatchObject({ kind: 'allow', attributes: { group: 'g1' } });
  });

  it('a server that never answers is bounded by the timeout', async () => {
    const hang = auth.nextHang();
    const started = Date.now();
    const outcome = method(settings(auth.endpoint), recordingLogger(), 300).authenticate(connectReq('slow', 'pw'));
    await hang;
    expect(await outcome).toMatchObject({ kind: 'notRelevant', reason: expect.stringContaining('no answer within 300 ms') });
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('Custom authentication on a broker port (createPortHooks)', () => {
  const brokers = useBroker();
  const servers: Server[] = [];
  const clients: mqtt.MqttClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  });

  /** A broker port whose authentication is `methods` (password file `pwuser`), with attribute rules. */
  async function port(methods: AuthnMethod[]): Promise<number> {
    const broker = (await brokers.start()).broker;
    const authorizer = compileAuthorization({
      authorizationPolicies: {
        rules: [
          { principals: { attributes: [{ group: 'g1' }] }, brokerResources: [{ method: 'Connect' }, { method: 'Publish', topics: ['groups/{principal.attributes.group}/#'] }] },
          { principals: { usernames: ['pwuser'] }, brokerResources: [{ method: 'Connect' }] },
        ],
      },
    });
    const users = parsePasswd(passwdLine('pwuser', 'pw')).entries;
    const hooks: BrokerHooks = createPortHooks({
      security: () => ({ authnName: 'custom', authnMethods: methods, authorizer }),
      passwd: async () => users,
      logger: recordingLogger(),
      where: { listener: 'secure', port: 0 },
      directory: new ClientDirectory(),
    });
    const server = createNetServer((socket) => broker.attach(socket, { hooks }));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return (server.address() as { port: number }).port;
  }

  async function connect(p: number, options: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${p}`, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...options });
    clients.push(client);
    return client;
  }

  it('an unreachable server falls through to the next method, whose attributes drive authorization; a fail refuses', async () => {
    const p = await port([method(settings(`https://127.0.0.1:${closedPort}/`)), method(settings(auth.endpoint))]);
    const alice = await connect(p, { username: 'alice', password: 'pw', clientId: 'a1' });
    await alice.publishAsync('groups/g1/t', 'x', { qos: 1 });
    await expect(alice.publishAsync('groups/g2/t', 'x', { qos: 1 })).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    await expect(connect(p, { username: 'alice', password: 'bad' })).rejects.toMatchObject({ code: ReasonCode.BadUserNameOrPassword });
    await expect(connect(p, { protocolVersion: 4, username: 'alice', password: 'bad' })).rejects.toMatchObject({ code: 4 }); // 3.1.1: bad username or password
    (await connect(p, { username: 'pwuser', password: 'pw' })).end(true); // the password file still works
  });

  it('the server\'s expiry disconnects the client when it passes (AIO: custom credential expiry)', async () => {
    const p = await port([method(settings(auth.endpoint))]);
    const started = Date.now();
    const brief = await connect(p, { username: 'brief', password: 'pw', clientId: 'brief' });
    await new Promise<void>((resolve) => brief.once('close', () => resolve()));
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
  });

  it('only unreachable servers: the client is refused with 0x87 after every method was tried', async () => {
    const p = await port([method(settings(`https://127.0.0.1:${closedPort}/`))]);
    await expect(connect(p, { username: 'alice', password: 'pw' })).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
  });

  it('a hanging server delays only its own client, which is refused after the timeout; others connect meanwhile', async () => {
    const p = await port([method(settings(auth.endpoint), recordingLogger(), 800)]);
    const hang = auth.nextHang();
    const started = Date.now();
    const slow = connect(p, { username: 'slow', password: 'pw', clientId: 'slow' });
    slow.catch(() => undefined);
    await hang; // the server holds the slow client's request now
    const alice = await connect(p, { username: 'alice', password: 'pw', clientId: 'a2' });
    await alice.publishAsync('groups/g1/t', 'while slow waits', { qos: 1 });
    const fastDone = Date.now();
    await expect(slow).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    const slowDone = Date.now();
    expect(fastDone).toBeLessThan(slowDone);
    expect(slowDone - started).toBeGreaterThanOrEqual(700);
    expect(slowDone - started).toBeLessThan(5000);
  });
});

describe('Custom authentication compiled by PortSecurityTable', () => {
  it('uses OPS_CUSTOM_AUTH_TIMEOUT_MS and the instance secrets folder', async () => {
    vi.stubEnv('OPS_CUSTOM_AUTH_TIMEOUT_MS', '300');
    try {
      const table = new PortSecurityTable(join(secretsDir, 'passwd'), recordingLogger(), secretsDir);
      const state: RuntimeState = {
        version: 1,
        host: '127.0.0.1',
        broker: {},
        listeners: { secure: { ports: [{ port: 1, authenticationRef: 'custom' }] } },
        authentications: { custom: { authenticationMethods: [settings(auth.endpoint)] } },
        authorizations: {},
      };
      table.update(state);
      const hooks = table.hooksOf('secure', 1);
      const allowed = await hooks?.authenticate?.(connectReq('alice', 'pw'));
      expect(allowed).toMatchObject({ reasonCode: ReasonCode.Success, attributes: { group: 'g1' }, username: 'alice' });
      const hang = auth.nextHang();
      const slow = hooks?.authenticate?.(connectReq('slow', 'pw'));
      await hang;
      expect(await slow).toMatchObject({ reasonCode: ReasonCode.NotAuthorized, reasonString: expect.stringContaining('Custom') });
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
