/**
 * JSON Web Tokens (RFC 7519) in compact JWS form (RFC 7515), with node:crypto only: signing with
 * an instance's key (Ed25519: `EdDSA`) and verification against trusted public keys (`EdDSA`,
 * `ES256`, `RS256`, the algorithm fixed by the key, never by the token). Verification never throws:
 * a bad token gives a `reason` that says what is wrong with it (and never repeats the token).
 */
import { createHash, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { isRecord } from './plain-objects.js';

/** Tokens longer than this are refused before any parsing (Kubernetes tokens are ~1 KiB). */
export const MAX_TOKEN_BYTES = 16 * 1024;

/** Algorithms a trusted key may verify; `none` and HMAC are never accepted. */
export type JwtAlgorithm = 'EdDSA' | 'ES256' | 'RS256';

/** A public key tokens may be signed with. */
export interface TrustedKey {
  /** Key id: the `kid` header of tokens it signs ({@link keyIdOf}). */
  readonly kid: string;
  readonly alg: JwtAlgorithm;
  readonly key: KeyObject;
  /** Where it came from (for logs). */
  readonly source: string;
}

/** Why a token was refused. */
export type JwtFailure = 'malformed' | 'algorithm' | 'unknown-key' | 'signature' | 'expired' | 'not-yet-valid' | 'audience';

/** The outcome of {@link verifyJwt}. */
export type JwtVerification =
  | { readonly ok: true; readonly claims: Readonly<Record<string, unknown>>; readonly kid: string; readonly expiresAt: number }
  | { readonly ok: false; readonly failure: JwtFailure; readonly reason: string };

/** What {@link verifyJwt} checks against. */
export interface JwtVerifyOptions {
  readonly keys: readonly TrustedKey[];
  /** The token's `aud` must name at least one of these. */
  readonly audiences: readonly string[];
  /** Leeway for `exp`, `nbf` and `iat` between the issuer's clock and ours. */
  readonly clockSkewSeconds: number;
  /** Now, in ms (tests). */
  readonly now?: number;
}

const SUPPORTED: readonly JwtAlgorithm[] = ['EdDSA', 'ES256', 'RS256'];
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** The algorithm a key signs with, or undefined for keys we do not use (RSA under 2048 bits, curves other than P-256). */
export function algorithmOf(key: KeyObject): JwtAlgorithm | undefined {
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return 'EdDSA';
    case 'ec':
      return details?.namedCurve === 'prime256v1' ? 'ES256' : undefined;
    case 'rsa':
      return (details?.modulusLength ?? 0) >= 2048 ? 'RS256' : undefined;
    default:
      return undefined;
  }
}

/** A key's id: base64url of the SHA-256 of its public key (SPKI DER), first 16 characters. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url').slice(0, 16);
}

/** Signs `claims` with a private key (Ed25519, P-256 or RSA); the header names the key's id. */
export function signJwt(claims: Readonly<Record<string, unknown>>, privateKey: KeyObject, kid: string): string {
  const alg = algorithmOf(privateKey);
  if (alg === undefined) throw new TypeError(`a ${privateKey.asymmetricKeyType ?? 'symmetric'} key cannot sign tokens`);
  const header = { alg, typ: 'JWT', kid };
  const input = `${encodePart(header)}.${encodePart(claims)}`;
  const signature = sign(alg === 'EdDSA' ? null : 'sha256', Buffer.from(input), alg === 'ES256' ? { key: privateKey, dsaEncoding: 'ieee-p1363' } : privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

/** A random token id (`jti`). */
export function newTokenId(): string {
  return randomUUID();
}

/**
 * Verifies a compact JWT: shape, header (`alg` of a trusted key, no `crit`), signature, then the
 * claims `exp` (required), `nbf`, `iat` (within the clock skew) and `aud`.
 */
export function verifyJwt(token: string, options: JwtVerifyOptions): JwtVerification {
  const bytes = Buffer.byteLength(token);
  if (bytes > MAX_TOKEN_BYTES) return fail('malformed', `the token is ${bytes} bytes, more than the ${MAX_TOKEN_BYTES} allowed`);
  const parts = token.split('.');
  if (parts.length !== 3) return fail('malformed', `not a JWT: expected 3 base64url parts separated by '.', found ${parts.length}`);
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  for (const [name, part] of [['header', headerPart], ['payload', payloadPart], ['signature', signaturePart]] as const) {
    if (!BASE64URL.test(part)) return fail('malformed', `not a JWT: the ${name} is ${part === '' ? 'empty' : 'not base64url'}`);
  }
  const header = decodePart(headerPart);
  if (header === undefined) return fail('malformed', 'not a JWT: the header is not a JSON object');
  const payload = decodePart(payloadPart);
  if (payload === undefined) return fail('malformed', 'not a JWT: the payload is not a JSON object');

  const alg = header['alg'];
  if (typeof alg !== 'string') return fail('malformed', 'the header has no algorithm (alg)');
  if (alg.toLowerCase() === 'none') return fail('algorithm', 'unsigned tokens (alg none) are not accepted');
  if (!SUPPORTED.includes(alg as JwtAlgorithm)) return fail('algorithm', `algorithm ${clip(alg)} is not accepted (use ${SUPPORTED.join(', ')})`);
  if (header['crit'] !== undefined) return fail('malformed', 'critical header parameters (crit) are not supported'); // RFC 7515 4.1.11
  const kid = header['kid'];
  if (kid !== undefined && typeof kid !== 'string') return fail('malformed', 'the key id (kid) is not a string');

  // The key named by kid when we know it; else every key of the algorithm (foreign issuers use their own key ids).
  const ofAlg = options.keys.filter((k) => k.alg === alg);
  const named = ofAlg.filter((k) => k.kid === kid);
  const candidates = named.length > 0 ? named : ofAlg;
  if (candidates.length === 0) return fail('unknown-key', `no trusted ${alg} key: the token was not signed by a key this broker trusts`);
  const signature = Buffer.from(signaturePart, 'base64url');
  const input = Buffer.from(`${headerPart}.${payloadPart}`);
  const signer = candidates.find((k) => checkSignature(alg as JwtAlgorithm, k.key, input, signature));
  if (signer === undefined) return fail('signature', 'the signature does not verify with the trusted key (tampered token or another issuer)');
  return checkClaims(payload, signer.kid, options);
}

function checkClaims(claims: Record<string, unknown>, kid: string, options: JwtVerifyOptions): JwtVerification {
  const now = (options.now ?? Date.now()) / 1000;
  const skew = options.clockSkewSeconds;
  for (const name of ['exp', 'nbf', 'iat']) {
    const value = claims[name];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) return fail('malformed', `claim ${name} is not a number of seconds`);
  }
  const exp = claims['exp'] as number | undefined;
  const nbf = claims['nbf'] as number | undefined;
  const iat = claims['iat'] as number | undefined;
  if (exp === undefined) return fail('malformed', 'the token has no expiry (exp)');
  if (now >= exp + skew) return fail('expired', `the token expired at ${isoOf(exp)} (${Math.round(now - exp)} s ago)`);
  if (nbf !== undefined && now + skew < nbf) return fail('not-yet-valid', `the token is not valid before ${isoOf(nbf)}`);
  if (iat !== undefined && now + skew < iat) return fail('not-yet-valid', `the token was issued in the future (${isoOf(iat)})`);

  const aud = claims['aud'];
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) && aud.every((a) => typeof a === 'string') ? (aud as string[]) : undefined;
  if (audiences === undefined) return fail('malformed', aud === undefined ? 'the token has no audience (aud)' : 'claim aud is not a string or a list of strings');
  if (!audiences.some((a) => options.audiences.includes(a))) {
    return fail('audience', `the token's audience (${audiences.map(clip).join(', ') || 'empty'}) is none of the accepted audiences (${options.audiences.join(', ') || 'none'})`);
  }
  return { ok: true, claims, kid, expiresAt: (exp + skew) * 1000 };
}

function checkSignature(alg: JwtAlgorithm, key: KeyObject, input: Buffer, signature: Buffer): boolean {
  if (alg === 'ES256' && signature.length !== 64) return false;
  try {
    return verify(alg === 'EdDSA' ? null : 'sha256', input, alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key, signature);
  } catch {
    return false;
  }
}

function encodePart(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decodePart(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function fail(failure: JwtFailure, reason: string): JwtVerification {
  return { ok: false, failure, reason };
}

function isoOf(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString();
}

/** Token-supplied text in a reason, cut short. */
function clip(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}...` : text;
}
