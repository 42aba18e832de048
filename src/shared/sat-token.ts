/**
 * The claims of the local service account tokens, shared by the minter (`ops broker token create`)
 * and the broker's `ServiceAccountToken` method, so both read the same names.
 */
import { newTokenId } from './jwt.js';

/** The MQTT v5 Authentication Method of service account tokens (AIO's). */
export const SAT_AUTHENTICATION_METHOD = 'K8S-SAT';
/** Claims `aio-broker-auth/KEY` are authorization attribute KEY (AIO: service account annotations with this prefix). */
export const SAT_ATTRIBUTE_PREFIX = 'aio-broker-auth/';
/** The claim that binds a token to one MQTT client id (RFC 8693's `client_id`). */
export const SAT_CLIENT_ID_CLAIM = 'client_id';

/** What a minted token says. */
export interface SatTokenSpec {
  /** Instance name, for `iss`. */
  readonly issuer: string;
  readonly audiences: readonly string[];
  /** Issue time and lifetime, in seconds. */
  readonly issuedAt: number;
  readonly ttlSeconds: number;
  readonly attributes: Readonly<Record<string, string>>;
  /** `sub`: the username authorization sees. */
  readonly subject?: string;
  readonly clientId?: string;
}

/** The claims of a token. */
export function satClaims(spec: SatTokenSpec): Record<string, unknown> {
  return {
    iss: `ops-broker/${spec.issuer}`,
    aud: spec.audiences.length === 1 ? spec.audiences[0] : [...spec.audiences],
    iat: spec.issuedAt,
    nbf: spec.issuedAt,
    exp: spec.issuedAt + spec.ttlSeconds,
    jti: newTokenId(),
    ...(spec.subject !== undefined ? { sub: spec.subject } : {}),
    ...(spec.clientId !== undefined ? { [SAT_CLIENT_ID_CLAIM]: spec.clientId } : {}),
    ...Object.fromEntries(Object.entries(spec.attributes).map(([k, v]) => [`${SAT_ATTRIBUTE_PREFIX}${k}`, v])),
  };
}
