import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyIdOf, MAX_TOKEN_BYTES, signJwt, verifyJwt, type JwtVerifyOptions, type TrustedKey } from '../../../src/shared/jwt.js';

const ed = generateKeyPairSync('ed25519');
const edKey: TrustedKey = { kid: keyIdOf(ed.publicKey), alg: 'EdDSA', key: ed.publicKey, source: 'test' };
const NOW = 1_700_000_000; // seconds
const options = (over: Partial<JwtVerifyOptions> = {}): JwtVerifyOptions => ({ keys: [edKey], audiences: ['aud-a', 'aud-b'], clockSkewSeconds: 5, now: NOW * 1000, ...over });
const claims = (over: Record<string, unknown> = {}) => ({ aud: 'aud-a', iat: NOW, nbf: NOW, exp: NOW + 3600, sub: 's', ...over });
const token = (over: Record<string, unknown> = {}, key: KeyObject = ed.privateKey) => signJwt(claims(over), key, edKey.kid);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const failure = (t: string, o: JwtVerifyOptions = options()) => {
  const result = verifyJwt(t, o);
  if (result.ok) throw new Error('expected a refusal');
  return result;
};

describe('verifyJwt', () => {
  it('accepts a good EdDSA token and reports its claims, key and expiry (exp plus the skew)', () => {
    const result = verifyJwt(token({ 'aio-broker-auth/group': 'g' }), options());
    expect(result).toMatchObject({ ok: true, kid: edKey.kid, expiresAt: (NOW + 3600 + 5) * 1000 });
    expect(result.ok && result.claims['aio-broker-auth/group']).toBe('g');
    expect(verifyJwt(token({ aud: ['other', 'aud-b'] }), options()).ok).toBe(true); // aud lists intersect
  });

  it('verifies ES256 and RS256 tokens with trusted keys of those kinds', () => {
    for (const [type, alg] of [['ec', 'ES256'], ['rsa', 'RS256']] as const) {
      const pair = type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
      const trusted: TrustedKey = { kid: keyIdOf(pair.publicKey), alg, key: pair.publicKey, source: 'test' };
      const t = signJwt(claims(), pair.privateKey, 'foreign-kid'); // a foreign issuer's kid: every key of the algorithm is tried
      expect(verifyJwt(t, options({ keys: [edKey, trusted] })).ok).toBe(true);
      expect(failure(t).failure).toBe('unknown-key'); // not trusted
    }
  });

  it('refuses expired tokens, beyond the clock skew only', () => {
    expect(verifyJwt(token({ exp: NOW - 4 }), options()).ok).toBe(true);
    const expired = failure(token({ exp: NOW - 60 }));
    expect(expired.failure).toBe('expired');
    expect(expired.reason).toMatch(/expired at 2023-11-14T22:12:20.000Z \(60 s ago\)/);
    expect(failure(token({ exp: undefined })).reason).toBe('the token has no expiry (exp)');
    expect(failure(token({ exp: 'soon' })).reason).toBe('claim exp is not a number of seconds');
  });

  it('refuses tokens not valid yet (nbf) or issued in the future (iat)', () => {
    expect(failure(token({ nbf: NOW + 60 })).reason).toMatch(/not valid before/);
    expect(failure(token({ iat: NOW + 60 })).reason).toMatch(/issued in the future/);
    expect(verifyJwt(token({ nbf: NOW + 3 }), options()).ok).toBe(true); // within the skew
  });

  it('refuses a wrong or missing audience, naming both sides', () => {
    const wrong = failure(token({ aud: ['x', 'y'] }));
    expect(wrong).toMatchObject({ failure: 'audience', reason: "the token's audience (x, y) is none of the accepted audiences (aud-a, aud-b)" });
    expect(failure(token({ aud: undefined })).reason).toBe('the token has no audience (aud)');
    expect(failure(token({ aud: [1] })).reason).toBe('claim aud is not a string or a list of strings');
  });

  it('refuses a bad signature: tampered payload, another key, truncated signature', () => {
    const [h, , s] = token().split('.') as [string, string, string];
    expect(failure(`${h}.${b64(claims({ sub: 'admin' }))}.${s}`).failure).toBe('signature');
    expect(failure(token({}, generateKeyPairSync('ed25519').privateKey)).failure).toBe('signature');
    expect(failure(`${h}.${b64(claims())}.${s.slice(0, 10)}`).failure).toBe('signature');
  });

  it('refuses alg none, HMAC, unknown algorithms and crit headers', () => {
    expect(failure(`${b64({ alg: 'none' })}.${b64(claims())}.x`)).toMatchObject({ failure: 'algorithm', reason: 'unsigned tokens (alg none) are not accepted' });
    expect(failure(`${b64({ alg: 'none' })}.${b64(claims())}.`).failure).toBe('malformed'); // no signature part at all
    expect(failure(`${b64({ alg: 'HS256' })}.${b64(claims())}.abc`).reason).toBe('algorithm HS256 is not accepted (use EdDSA, ES256, RS256)');
    expect(failure(`${b64({ alg: 'EdDSA', crit: ['exp'] })}.${b64(claims())}.abc`).reason).toMatch(/crit/);
    expect(failure(`${b64({ typ: 'JWT' })}.${b64(claims())}.abc`).reason).toBe('the header has no algorithm (alg)');
  });

  it('refuses garbage with a reason, never throwing', () => {
    const cases: [string, RegExp][] = [
      ['', /found 1/],
      ['abc', /expected 3 base64url parts/],
      ['a.b.c.d', /found 4/],
      ['a..c', /payload is empty/],
      ['a!.b.c', /header is not base64url/],
      [`${b64([1])}.${b64(claims())}.abc`, /header is not a JSON object/],
      [`${b64({ alg: 'EdDSA' })}.${Buffer.from('{not json').toString('base64url')}.abc`, /payload is not a JSON object/],
      ['\u0000\uffff.\u00e9.x', /header is not base64url/],
    ];
    for (const [input, reason] of cases) expect(failure(input).reason).toMatch(reason);
  });

  it('refuses a huge token before parsing it', () => {
    const huge = `${'a'.repeat(MAX_TOKEN_BYTES)}.b.c`;
    expect(failure(huge).reason).toBe(`the token is ${MAX_TOKEN_BYTES + 4} bytes, more than the ${MAX_TOKEN_BYTES} allowed`);
  });
});

describe('signJwt', () => {
  it('names the key id in the header and refuses keys that cannot sign', () => {
    const header = JSON.parse(Buffer.from(token().split('.')[0] ?? '', 'base64url').toString()) as Record<string, unknown>;
    expect(header).toEqual({ alg: 'EdDSA', typ: 'JWT', kid: edKey.kid });
    expect(keyIdOf(createPublicKey(ed.privateKey))).toBe(edKey.kid);
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() => signJwt(claims(), small.privateKey, 'k')).toThrow(/cannot sign/);
  });
});
