/**
 * The `ServiceAccountToken` authentication method, the local stand-in for AIO's Kubernetes service
 * account tokens (SATs). A client is relevant when its CONNECT uses MQTT v5 enhanced
 * authentication with method `K8S-SAT` and the token in Authentication Data (or, for MQTT 3.1.1, a
 * username starting with `K8S-SAT` and the token as password). Tokens are JWTs signed by the
 * instance's key (`ops broker token create`) or a key in `secrets/sat/trusted/`, checked for
 * expiry and for an audience among the method's `audiences`.
 *
 * What a token gives: claims named `aio-broker-auth/KEY` become authorization attributes `KEY`
 * (as AIO maps service account annotations with that prefix); `sub` is the identity: the username
 * for authorization and the session's owner, never the CONNECT's (a token without `sub` is refused,
 * and so is one whose `sub` is a password-file user, see `port-hooks.ts`); a `client_id` claim
 * binds the token to one client id;
 * `exp` is the credential expiry the engine disconnects at unless the client re-authenticates.
 */
import type { AuthenticationRequest } from '../../broker/hooks.js';
import { loadSatKeyring, type SatKeyring } from '../../instance/sat-keys.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import { verifyJwt } from '../../shared/jwt.js';
import { SAT_ATTRIBUTE_PREFIX, SAT_AUTHENTICATION_METHOD, SAT_CLIENT_ID_CLAIM } from '../../shared/sat-token.js';
import type { Logger } from '../../shared/log.js';
import type { AuthnMethod, AuthnMethodConfig, AuthnMethodDeps, AuthnOutcome } from './method.js';
import { reasonOf } from '../../shared/errors.js';

/** Leeway between the token issuer's clock and ours (small: tokens are mostly minted on this host). */
export const SAT_CLOCK_SKEW_SECONDS = 5;
/** A token whose key is unknown reloads the key files at most this often. */
const RELOAD_INTERVAL_MS = 1000;

/** What {@link createSatMethod} needs. */
export interface SatMethodOptions {
  readonly audiences: readonly string[];
  /** Reads the trusted keys (default: the instance's `secrets/sat/`). */
  readonly loadKeys: () => Promise<SatKeyring>;
  readonly clockSkewSeconds: number;
  readonly logger: Logger;
  /** Least time between key reloads caused by unknown keys (default 1 s). */
  readonly reloadIntervalMs?: number;
}

/** Compiles a `ServiceAccountToken` method of a BrokerAuthentication resource. */
export function createServiceAccountTokenMethod(config: AuthnMethodConfig, deps: AuthnMethodDeps): AuthnMethod {
  const settings = config['serviceAccountTokenSettings'] as { audiences?: unknown } | undefined;
  const audiences = Array.isArray(settings?.audiences) ? settings.audiences.filter((a): a is string => typeof a === 'string') : [];
  return createSatMethod({ audiences, loadKeys: () => loadSatKeyring(deps.secretsDir), clockSkewSeconds: SAT_CLOCK_SKEW_SECONDS, logger: deps.logger });
}

/** The method with its collaborators given (tests pass their own keys and clock skew). */
export function createSatMethod(options: SatMethodOptions): AuthnMethod {
  let keyring: Promise<SatKeyring> | undefined;
  let loadedAt = 0;
  const keys = (reload: boolean): Promise<SatKeyring> => {
    if (keyring === undefined || (reload && Date.now() - loadedAt >= (options.reloadIntervalMs ?? RELOAD_INTERVAL_MS))) {
      loadedAt = Date.now();
      const loading = options.loadKeys();
      keyring = loading;
      loading.then(
        (ring) => {
          for (const line of ring.skipped) options.logger.warn({ file: line }, 'ServiceAccountToken: trusted key skipped');
        },
        () => {
          if (keyring === loading) keyring = undefined; // try again at the next CONNECT
        },
      );
    }
    return keyring;
  };

  const verify = async (token: string): Promise<ReturnType<typeof verifyJwt>> => {
    const check = async (reload: boolean) => verifyJwt(token, { keys: (await keys(reload)).keys, audiences: options.audiences, clockSkewSeconds: options.clockSkewSeconds });
    const first = await check(false);
    // A key added to trusted/ (or a signing key made by someone else) is picked up without an apply.
    return !first.ok && (first.failure === 'unknown-key' || first.failure === 'signature') ? check(true) : first;
  };

  return {
    name: 'ServiceAccountToken',
    async authenticate(request: AuthenticationRequest): Promise<AuthnOutcome> {
      const token = tokenOf(request);
      if (token === undefined) return { kind: 'notRelevant', reason: `no ${SAT_AUTHENTICATION_METHOD} authentication method` };
      if (token.length === 0) return deny(`no token: ${SAT_AUTHENTICATION_METHOD} needs the token in the Authentication Data (or as the password of a ${SAT_AUTHENTICATION_METHOD} username)`);
      let result: ReturnType<typeof verifyJwt>;
      try {
        result = await verify(token.toString('utf8'));
      } catch (err) {
        options.logger.error({ err: reasonOf(err) }, 'ServiceAccountToken: the token keys cannot be read');
        return deny('the broker cannot read its token keys (see the broker log)');
      }
      if (!result.ok) return deny(result.reason);
      const claims = result.claims;
      const boundId = claims[SAT_CLIENT_ID_CLAIM];
      if (boundId !== undefined && boundId !== request.clientId) {
        return deny(`the token is for client id ${typeof boundId === 'string' ? JSON.stringify(boundId.slice(0, 64)) : '(not a string)'}, not ${JSON.stringify(request.clientId)}`);
      }
      const attributes: Record<string, string> = {};
      for (const [name, value] of Object.entries(claims)) {
        if (!name.startsWith(SAT_ATTRIBUTE_PREFIX)) continue;
        const key = name.slice(SAT_ATTRIBUTE_PREFIX.length);
        if (key === '' || typeof value !== 'string') return deny(`claim ${JSON.stringify(name.slice(0, 80))} must name an attribute and have a string value`);
        attributes[key] = value;
      }
      // The token pins the identity: without a subject the client would choose its username.
      const sub = claims['sub'];
      if (sub === undefined) return deny('the token has no subject (sub claim): mint one with `ops broker token create`, which always sets it');
      if (typeof sub !== 'string' || sub === '') return deny('claim sub is not a non-empty string');
      return { kind: 'allow', username: sub, attributes, extras: { expiresAt: result.expiresAt } };
    },
  };
}

/** The token of a relevant request (empty when the method is named without data); undefined when not relevant. */
function tokenOf(request: AuthenticationRequest): Buffer | undefined {
  if (request.authenticationMethod === SAT_AUTHENTICATION_METHOD) return request.authenticationData ?? Buffer.alloc(0);
  if (request.authenticationMethod === undefined && request.username?.startsWith(SAT_AUTHENTICATION_METHOD) === true) return request.password ?? Buffer.alloc(0);
  return undefined;
}

function deny(reason: string): AuthnOutcome {
  return { kind: 'deny', reasonCode: ReasonCode.NotAuthorized, reason };
}
