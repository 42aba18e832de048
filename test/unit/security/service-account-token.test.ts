import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuthenticationRequest } from '../../../src/broker/hooks.js';
import { ensureSigningKey, loadSatKeyring, satKeyPaths } from '../../../src/instance/sat-keys.js';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import { createSatMethod, createServiceAccountTokenMethod } from '../../../src/security/authn/service-account-token.js';
import { signJwt } from '../../../src/shared/jwt.js';
import { silentLogger } from '../../../src/shared/log.js';
import { satClaims } from '../../../src/shared/sat-token.js';

let secrets: string;
beforeEach(async () => {
  secrets = await mkdtemp(join(tmpdir(), 'sat-'));
});
afterEach(async () => {
  await rm(secrets, { recursive: true, force: true });
});

const method = (audiences: unknown = ['aud']) =>
  createServiceAccountTokenMethod({ method: 'ServiceAccountToken', serviceAccountTokenSettings: { audiences } }, { logger: silentLogger, secretsDir: secrets });
const request = (over: Partial<AuthenticationRequest> = {}): AuthenticationRequest => ({
  connection: {},
  clientId: 'c1',
  username: undefined,
  password: undefined,
  protocolVersion: 5,
  authenticationMethod: 'K8S-SAT',
  authenticationData: undefined,
  ...over,
});
const mint = async (over: Partial<Parameters<typeof satClaims>[0]> = {}, extra: Record<string, unknown> = {}): Promise<Buffer> => {
  const key = await ensureSigningKey(secrets);
  const claims = { ...satClaims({ issuer: 't', audiences: ['aud'], issuedAt: Math.floor(Date.now() / 1000), ttlSeconds: 60, attributes: {}, subject: 'sensor-0', ...over }), ...extra };
  return Buffer.from(signJwt(claims, key.privateKey, key.kid));
};

describe('SAT keys', () => {
  it('makes the signing key once (0600, public key beside it) and reuses it', async () => {
    const first = await ensureSigningKey(secrets);
    const again = await ensureSigningKey(secrets);
    expect(again.kid).toBe(first.kid);
    const paths = satKeyPaths(secrets);
    expect((await stat(paths.signingKey)).mode & 0o777).toBe(0o600);
    expect(await readFile(paths.publicKey, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });

  it('concurrent makers agree on one key', async () => {
    const kids = new Set((await Promise.all([1, 2, 3, 4].map(() => ensureSigningKey(secrets)))).map((k) => k.kid));
    expect(kids.size).toBe(1);
  });

  it('loads trusted public keys and reports unusable files', async () => {
    const { trustedDir } = satKeyPaths(secrets);
    await mkdir(trustedDir, { recursive: true });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(join(trustedDir, 'cluster.pem'), ec.publicKey.export({ type: 'spki', format: 'pem' }));
    await writeFile(join(trustedDir, 'junk.pem'), 'not a key');
    await writeFile(join(trustedDir, 'p384.pem'), generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }));
    await writeFile(join(trustedDir, 'ignored.txt'), 'x');
    const ring = await loadSatKeyring(secrets);
    expect(ring.keys.map((k) => k.alg)).toEqual(['EdDSA', 'ES256']);
    expect(ring.skipped).toHaveLength(2);
    expect(ring.skipped.join('\n')).toMatch(/junk.pem: not a PEM public key/);
    expect(ring.skipped.join('\n')).toMatch(/p384.pem: a ec key is not usable/);
  });

  it('a corrupt signing key file is an error naming the file', async () => {
    const paths = satKeyPaths(secrets);
    await mkdir(paths.dir, { recursive: true });
    await writeFile(paths.signingKey, 'garbage');
    await expect(ensureSigningKey(secrets)).rejects.toThrow(/signing-key.pem is not a PEM private key/);
  });
});

describe('ServiceAccountToken method', () => {
  it('is not relevant without K8S-SAT (nor a K8S-SAT username)', async () => {
    expect((await method().authenticate(request({ authenticationMethod: undefined, username: 'alice', password: Buffer.from('pw') }))).kind).toBe('notRelevant');
    expect((await method().authenticate(request({ authenticationMethod: 'SCRAM-SHA-1' }))).kind).toBe('notRelevant');
  });

  it('allows a good token: attributes from aio-broker-auth/ claims, username from sub, expiry from exp', async () => {
    const data = await mint({ attributes: { group: 'sensors', floor: '2' }, subject: 'sensor-1' });
    const outcome = await method().authenticate(request({ authenticationData: data }));
    expect(outcome).toMatchObject({ kind: 'allow', username: 'sensor-1', attributes: { group: 'sensors', floor: '2' } });
    const exp = JSON.parse(Buffer.from(data.toString().split('.')[1] ?? '', 'base64url').toString()).exp as number;
    expect(outcome.kind === 'allow' && outcome.extras?.expiresAt).toBe((exp + 5) * 1000);
  });

  it('accepts the MQTT 3.1.1 form: username K8S-SAT..., token as password', async () => {
    const outcome = await method().authenticate(request({ authenticationMethod: undefined, protocolVersion: 4, username: 'K8S-SAT', password: await mint() }));
    expect(outcome.kind).toBe('allow');
  });

  it.each([
    ['no token', async () => undefined, /no token: K8S-SAT needs the token in the Authentication Data/],
    ['garbage', async () => Buffer.from('garbage'), /not a JWT/],
    ['binary', async () => Buffer.from([0xff, 0xfe, 0x00, 0x2e, 0x2e]), /not a JWT/],
    ['expired', async () => mint({ issuedAt: Math.floor(Date.now() / 1000) - 3600, ttlSeconds: 60 }), /the token expired at/],
    ['wrong audience', async () => mint({ audiences: ['elsewhere'] }), /audience \(elsewhere\) is none of the accepted audiences \(aud\)/],
    ['another client id', async () => mint({ clientId: 'c2' }), /the token is for client id "c2", not "c1"/],
    ['non-string attribute', async () => mint({}, { 'aio-broker-auth/n': 5 }), /claim "aio-broker-auth\/n" must name an attribute and have a string value/],
    ['non-string sub', async () => mint({}, { sub: 42 }), /claim sub is not a non-empty string/],
    ['empty sub', async () => mint({ subject: '' }), /claim sub is not a non-empty string/],
    // without a subject the client would choose its username (a password user's, an admin's)
    ['no sub', async () => mint({}, { sub: undefined }), /the token has no subject \(sub claim\)/],
    ['foreign key', async () => Buffer.from(signJwt(satClaims({ issuer: 'x', audiences: ['aud'], issuedAt: Math.floor(Date.now() / 1000), ttlSeconds: 60, attributes: {} }), generateKeyPairSync('ed25519').privateKey, 'k')), /signature does not verify/],
  ])('refuses %s with 0x87 and a reason', async (_name, data, reason) => {
    const outcome = await method().authenticate(request({ authenticationData: await data() }));
    expect(outcome).toMatchObject({ kind: 'deny', reasonCode: ReasonCode.NotAuthorized });
    expect(outcome.kind === 'deny' && outcome.reason).toMatch(reason);
  });

  it('picks up a key added to trusted/ without recompiling', async () => {
    const sat = createSatMethod({ audiences: ['aud'], loadKeys: () => loadSatKeyring(secrets), clockSkewSeconds: 0, logger: silentLogger, reloadIntervalMs: 0 });
    const foreign = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const token = Buffer.from(signJwt(satClaims({ issuer: 'k8s', audiences: ['aud'], issuedAt: Math.floor(Date.now() / 1000), ttlSeconds: 60, attributes: {}, subject: 'system:serviceaccount:ns:sa' }), foreign.privateKey, 'cluster'));
    expect((await sat.authenticate(request({ authenticationData: token }))).kind).toBe('deny');
    const { trustedDir } = satKeyPaths(secrets);
    await mkdir(trustedDir, { recursive: true });
    await writeFile(join(trustedDir, 'cluster.pem'), foreign.publicKey.export({ type: 'spki', format: 'pem' }));
    expect((await sat.authenticate(request({ authenticationData: token }))).kind).toBe('allow');
  });

  it('an unreadable key is a refusal with a reason, not a crash', async () => {
    const paths = satKeyPaths(secrets);
    await mkdir(paths.dir, { recursive: true });
    await writeFile(paths.signingKey, 'garbage');
    const outcome = await method().authenticate(request({ authenticationData: Buffer.from('a.b.c') }));
    expect(outcome).toMatchObject({ kind: 'deny', reason: 'the broker cannot read its token keys (see the broker log)' });
  });
});
