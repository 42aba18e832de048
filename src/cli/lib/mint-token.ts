/** Minting service account tokens with an instance's signing key (`secrets/sat/`, made on first use). */
import { ensureSigningKey } from '../../instance/sat-keys.js';
import { signJwt } from '../../shared/jwt.js';
import { satClaims } from '../../shared/sat-token.js';

/** What a token says. */
export interface TokenClaims {
  readonly audiences: readonly string[];
  readonly ttlSeconds: number;
  readonly subject: string;
  readonly attributes?: Readonly<Record<string, string>>;
  readonly clientId?: string;
}

/** A signed token and what a user needs to know of it. */
export interface MintedToken {
  readonly token: string;
  readonly issuedAt: number;
  readonly keyId: string;
  readonly publicKeyPath: string;
}

/** Signs a token for `claims` with the signing key in `secretsDir` (the instance named `issuer`). */
export async function mintToken(secretsDir: string, issuer: string, claims: TokenClaims): Promise<MintedToken> {
  const key = await ensureSigningKey(secretsDir);
  const issuedAt = Math.floor(Date.now() / 1000);
  const payload = satClaims({
    issuer,
    audiences: [...claims.audiences],
    issuedAt,
    ttlSeconds: claims.ttlSeconds,
    attributes: { ...claims.attributes },
    subject: claims.subject,
    ...(claims.clientId !== undefined ? { clientId: claims.clientId } : {}),
  });
  return { token: signJwt(payload, key.privateKey, key.kid), issuedAt, keyId: key.kid, publicKeyPath: key.publicKeyPath };
}
