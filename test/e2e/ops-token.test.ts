import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, type IConnackPacket } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSigningKey } from '../../src/instance/sat-keys.js';
import { ReasonCode } from '../../src/protocol/reason-codes.js';
import { passwdLine } from '../../src/security/passwd.js';
import { signJwt } from '../../src/shared/jwt.js';
import { satClaims } from '../../src/shared/sat-token.js';
import { connectClient } from '../helpers/cli-mqtt.js';
import { portOf } from '../helpers/cli-ops.js';
import { makeOpsInstance, type OpsInstance } from '../helpers/ops-instance.js';

interface Minted {
  token: string;
  audiences: string[];
  subject?: string;
  attributes: Record<string, string>;
  issuedAt: string;
  expiresAt: string;
  keyId: string;
  publicKeyFile: string;
}

let h: OpsInstance;
const sat = (port: number, token: string, clientId: string, clean = true) =>
  connectClient(port, { protocolVersion: 5, clientId, clean, properties: { sessionExpiryInterval: clean ? 0 : 300, authenticationMethod: 'K8S-SAT', authenticationData: Buffer.from(token) } });

/** The CONNACK of a token's CONNECT that the broker refuses (with its reason string). */
function refusal(port: number, token: string): Promise<IConnackPacket> {
  return new Promise((resolve, reject) => {
    const client = connect({ host: '127.0.0.1', port, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 3000, properties: { authenticationMethod: 'K8S-SAT', authenticationData: Buffer.from(token) } });
    client.on('packetreceive', (packet) => {
      if (packet.cmd !== 'connack') return;
      client.end(true);
      resolve(packet);
    });
    client.on('error', () => undefined);
    client.on('connect', () => reject(new Error('accepted, expected a refusal')));
  });
}

beforeAll(async () => {
  h = await makeOpsInstance('t');
});
afterAll(() => h.cleanup());

describe('ops broker token create', () => {
  it('mints a token with the broker stopped, which a port with a SAT method then accepts', async () => {
    expect((await h.ops('broker', 'stop', '--instance', 't')).exitCode).toBe(0);
    const minted = await h.json<Minted>('broker', 'token', 'create', '--instance', 't', '--audience', 'my-aud', '--ttl', '10m', '--attribute', 'group=sensors', '--subject', 'sensor-1');
    expect(minted).toMatchObject({ audiences: ['my-aud'], subject: 'sensor-1', attributes: { group: 'sensors' } });
    expect(Date.parse(minted.expiresAt) - Date.parse(minted.issuedAt)).toBe(600_000);
    expect((await stat(join(h.home, 't', 'secrets', 'sat', 'signing-key.pem'))).mode & 0o777).toBe(0o600);
    expect(minted.publicKeyFile).toBe(join(h.home, 't', 'secrets', 'sat', 'signing-key.pub.pem'));

    expect((await h.ops('broker', 'authn', 'method', 'add', '--instance', 't', '--authn', 'sat', '--sat-aud', 'my-aud', 'aio-internal')).exitCode).toBe(0);
    expect((await h.apply('listener', 'secure', { properties: { serviceType: 'LoadBalancer', ports: [{ port: 0, authenticationRef: 'sat' }] } })).exitCode).toBe(0);
    const started = await h.json<{ ports: Array<{ listener: string; port: number }> }>('broker', 'start', '--instance', 't');
    const secure = portOf(started, 'secure');

    const client = h.track(await sat(secure, minted.token, 'c1'));
    await client.publishAsync('any/topic', 'x', { qos: 1 });

    // Minted while the broker runs, with the same key: the plain output is the bare token.
    const plain = await h.ops('broker', 'token', 'create', '--instance', 't', '--audience', 'elsewhere');
    expect(plain.exitCode).toBe(0);
    expect(plain.stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(plain.stderr).toMatch(new RegExp(`signed by key ${minted.keyId}`));
    await expect(sat(secure, plain.stdout.trim(), 'c2')).rejects.toMatchObject({ code: ReasonCode.NotAuthorized }); // wrong audience
    const bound = await h.ops('broker', 'token', 'create', '--instance', 't', '--audience', 'aio-internal', '--client-id', 'only-me');
    await expect(sat(secure, bound.stdout.trim(), 'someone-else')).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    h.track(await sat(secure, bound.stdout.trim(), 'only-me'));
  });

  it('refuses a bad flag with a clear message (more cases: test/unit/cli/token.test.ts)', async () => {
    const run = await h.ops('broker', 'token', 'create', '--instance', 't', '--audience', 'a', '--ttl', 'soon');
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/Invalid --ttl 'soon': use a duration like 90s, 15m, 1h, 7d or 1h30m/);
    expect(run.stdout).toBe('');
  });
});

describe('a token always pins an identity, never a password-file user', () => {
  let u: OpsInstance;
  let secure: number;
  beforeAll(async () => {
    u = await makeOpsInstance('u');
    await mkdir(join(u.home, 'u', 'secrets'), { recursive: true });
    await writeFile(join(u.home, 'u', 'secrets', 'passwd'), `${passwdLine('alice', 'pw')}\n`);
    expect((await u.ops('broker', 'authn', 'method', 'add', '--instance', 'u', '--authn', 'sat', '--sat-aud', 'aud')).exitCode).toBe(0);
    expect((await u.apply('listener', 'secure', { properties: { serviceType: 'LoadBalancer', ports: [{ port: 0, authenticationRef: 'sat' }] } })).exitCode).toBe(0);
    secure = portOf(await u.status(), 'secure');
  });
  afterAll(() => u.cleanup());

  it('without --subject: a generated token-<random> subject, printed; two such tokens are two identities', async () => {
    const plain = await u.ops('broker', 'token', 'create', '--instance', 'u', '--audience', 'aud');
    expect(plain.exitCode).toBe(0);
    expect(plain.stderr).toMatch(/^Token for subject token-[0-9a-f]{12} \(generated; choose one with --subject\) and audience aud, valid until /);
    const minted = await u.json<Minted>('broker', 'token', 'create', '--instance', 'u', '--audience', 'aud');
    expect(minted.subject).toMatch(/^token-[0-9a-f]{12}$/);
    expect(plain.stderr).not.toContain(minted.subject);

    // the client cannot choose its username: a CONNECT username is not the identity
    const first = u.track(await sat(secure, plain.stdout.trim(), 'dev-1', false));
    await first.endAsync();
    const other = sat(secure, minted.token, 'dev-1', false);
    await expect(other).rejects.toMatchObject({ code: ReasonCode.NotAuthorized }); // another identity's session
    u.track(await sat(secure, plain.stdout.trim(), 'dev-1', false));
  });

  it('refuses a password-file user as --subject at creation, and such a token (or one without a subject) at CONNECT', async () => {
    const run = await u.ops('broker', 'token', 'create', '--instance', 'u', '--audience', 'aud', '--subject', 'alice');
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/Invalid --subject 'alice': it is a user of the password file \(.*passwd\); a token's identity must not be a password user's/);
    expect(run.stdout).toBe('');

    // tokens signed with the instance key by other means (or by an older ops) reach the broker's check
    const key = await ensureSigningKey(join(u.home, 'u', 'secrets'));
    const forged = (subject?: string) =>
      signJwt(satClaims({ issuer: 'u', audiences: ['aud'], issuedAt: Math.floor(Date.now() / 1000), ttlSeconds: 600, attributes: {}, ...(subject !== undefined ? { subject } : {}) }), key.privateKey, key.kid);
    expect(await refusal(secure, forged('alice'))).toMatchObject({ reasonCode: ReasonCode.NotAuthorized, properties: { reasonString: expect.stringMatching(/the token's subject 'alice' is a password-file user/) } });
    expect(await refusal(secure, forged())).toMatchObject({ reasonCode: ReasonCode.NotAuthorized, properties: { reasonString: expect.stringMatching(/the token has no subject/) } });
    u.track(await sat(secure, forged('sensor-9'), 'a-3'));
  });
});
