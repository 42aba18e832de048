/**
 * Per-port security hooks (AIO: each listener port names one BrokerAuthentication and one
 * BrokerAuthorization). The hooks ask `security()` at every decision, so resources applied live
 * take effect on the next CONNECT, PUBLISH, SUBSCRIBE or state store request.
 *
 * Authentication: a port without `authenticationRef` accepts everyone (and authorization does not
 * apply, as AIO). With one, the password file (ours) and then the resource's methods are tried in
 * order (see `authn/method.ts`): the first method that allows or denies decides; when none applies
 * the CONNECT is refused with 0x8C (an enhanced authentication method nobody took) or 0x87.
 * Authorization after a successful authentication: no `Connect` grant refuses with 0x87.
 *
 * The result names the client's principal, `METHOD:identity` (the username, or the X.509 subject),
 * to which its session is bound (`broker/session-owner.ts`); a token whose subject is a
 * password-file user is refused (a token never takes a password user's identity).
 */
import { warnAbuse } from '../broker/abuse-log.js';
import type { AuthenticationRequest, AuthenticationResult, BrokerHooks, ClientIdentity } from '../broker/hooks.js';
import { anonymousPrincipal } from '../broker/session-owner.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import type { Logger } from '../shared/log.js';
import type { Authorizer, KeyMethod } from './authorization.js';
import type { AuthnAllow, AuthnMethod } from './authn/method.js';
import { createPasswordFileMethod } from './authn/password-file.js';
import type { PasswdEntry } from './passwd.js';
import type { WorkGate } from './work-gate.js';

/**
 * Refused authentications logged per 10 s (each with its reason), before further ones are only
 * counted: enough to see why a few misconfigured clients fail, not a line per guess.
 */
export const AUTH_REFUSAL_LINES = 10;

/** What a port's resources say, now. */
export interface PortSecurity {
  /** `authenticationRef` of the port; undefined: no authentication (nor authorization). */
  readonly authnName: string | undefined;
  /** The referenced resource's methods, compiled, in order; undefined when the resource does not exist. */
  readonly authnMethods: readonly AuthnMethod[] | undefined;
  /** Compiled rules of `authorizationRef` (only with authentication; a missing resource denies all). */
  readonly authorizer: Authorizer | undefined;
  /** The `authorizationRef` those rules are of (undefined with {@link authorizer}). */
  readonly authzName?: string | undefined;
}

/** Collaborators of {@link createPortHooks}. */
export interface PortHooksDeps {
  /** The port's current security (looked up at every decision). */
  readonly security: () => PortSecurity;
  /** The password file's users, read at each authentication; undefined without a file. */
  readonly passwd: () => Promise<ReadonlyMap<string, PasswdEntry> | undefined>;
  readonly logger: Logger;
  /** Where the client came in (for logs). */
  readonly where: { readonly listener: string; readonly port: number };
  /** Remembers which port an accepted client's identity belongs to (state store authorization). */
  readonly directory: ClientDirectory;
  /** Bounds the password checks (shared by every port of a broker); default one of this port's own. */
  readonly passwordChecks?: WorkGate;
}

/**
 * Maps an accepted client's attributes object (the engine keeps the object the hook returned as
 * the connection identity's `attributes`) to its port's security. Keyed weakly by that object, so a
 * client id taken over on another port, or a closed connection, needs no bookkeeping.
 */
export class ClientDirectory {
  readonly #ports = new WeakMap<object, () => PortSecurity>();

  /** Records the port of an accepted client. */
  register(attributes: object, security: () => PortSecurity): void {
    this.#ports.set(attributes, security);
  }

  /** The authorizer that applies to a connected identity (undefined: no authorization). */
  authorizerOf(identity: ClientIdentity): Authorizer | undefined {
    return this.#ports.get(identity.attributes)?.().authorizer;
  }

  /**
   * The name of the authorization resource that applies to a connected identity (undefined: its
   * port authorizes everything); what another frontend's service decides with (cluster mode).
   */
  authorizationOf(identity: ClientIdentity): string | undefined {
    const security = this.#ports.get(identity.attributes)?.();
    return security?.authorizer === undefined ? undefined : security.authzName;
  }

  /**
   * The state store's key authorization: a connected client whose port has authorization needs a
   * matching `stateStoreResources` grant; in-process clients and open ports are allowed.
   */
  stateStoreAuthorizer(identityOf: (clientId: string) => ClientIdentity | undefined): (clientId: string, key: Buffer, method: KeyMethod) => boolean {
    return (clientId, key, method) => {
      const identity = identityOf(clientId);
      if (identity === undefined) return true;
      const authorizer = this.authorizerOf(identity);
      return authorizer === undefined || authorizer.canUseKey(identity, key, method);
    };
  }
}

/** Builds the hooks of one port. */
export function createPortHooks(deps: PortHooksDeps): BrokerHooks {
  const { logger, where } = deps;
  /** Requests being re-authentications (AUTH 0x19) rather than CONNECTs, for the log lines. */
  const reauths = new WeakSet<AuthenticationRequest>();
  const refuse = (request: AuthenticationRequest, reasonCode: number, reasonString: string): AuthenticationResult => {
    const reauth = reauths.has(request);
    // Rate-limited (AUTH_REFUSAL_LINES per 10 s, then how many were suppressed): a guesser must not write a line per guess.
    warnAbuse(
      logger,
      reauth ? 're-authentication-refused' : 'authentication-refused',
      { ...where, remoteAddress: request.connection.remoteAddress, clientId: request.clientId, username: request.username, reasonCode },
      `${reauth ? 're-authentication refused' : 'connection refused'}: ${reasonString}`,
      Date.now(),
      AUTH_REFUSAL_LINES,
    );
    return { reasonCode, reasonString };
  };
  const authenticate = (request: AuthenticationRequest): AuthenticationResult | Promise<AuthenticationResult> => {
    const security = deps.security();
    if (security.authnName !== undefined) return authenticateWith(security.authnName, security, request);
    if (request.authenticationMethod !== undefined) return { reasonCode: ReasonCode.BadAuthenticationMethod, reasonString: `authentication method ${request.authenticationMethod} is not supported` };
    const attributes = {};
    deps.directory.register(attributes, deps.security);
    // synchronous: open ports do not wait
    return { reasonCode: ReasonCode.Success, attributes, principal: anonymousPrincipal(where.listener, where.port) };
  };
  const passwordFile = createPasswordFileMethod(deps.passwd, deps.passwordChecks);
  const authenticateWith = async (authnName: string, security: PortSecurity, request: AuthenticationRequest): Promise<AuthenticationResult> => {
    if (security.authnMethods === undefined) return refuse(request, ReasonCode.NotAuthorized, `authentication '${authnName}' does not exist`);
    let accepted: AuthnAllow | undefined;
    let acceptedBy = '';
    const skipped: string[] = [];
    for (const method of [passwordFile, ...security.authnMethods]) {
      const outcome = await method.authenticate(request);
      if (outcome.kind === 'deny') return refuse(request, outcome.reasonCode, `${method.name}: ${outcome.reason}`);
      if (outcome.kind === 'allow') {
        accepted = outcome;
        acceptedBy = method.name;
        break;
      }
      skipped.push(`${method.name}: ${outcome.reason}`);
    }
    if (accepted === undefined) {
      const tried = security.authnMethods.map((m) => m.name).join(', ') || 'none';
      logger.debug({ ...where, clientId: request.clientId, skipped }, 'no authentication method applied');
      return request.authenticationMethod !== undefined
        ? refuse(request, ReasonCode.BadAuthenticationMethod, `authentication method ${request.authenticationMethod} is not accepted by '${authnName}' (methods: ${tried})`)
        : refuse(request, ReasonCode.NotAuthorized, `no authentication method of '${authnName}' accepted the client (methods: ${tried}; password file: ${skipped[0]?.slice('PasswordFile: '.length) ?? ''})`);
    }
    const username = accepted.username ?? request.username;
    if (acceptedBy === 'ServiceAccountToken' && username !== undefined && (await deps.passwd())?.has(username) === true) {
      // A token must not take a password-file user's identity (its grants, its sessions).
      return refuse(request, ReasonCode.NotAuthorized, `ServiceAccountToken: the token's subject '${username.slice(0, 64)}' is a password-file user; a token's identity must not match one`);
    }
    const attributes = { ...accepted.attributes };
    const identity: ClientIdentity = { clientId: request.clientId, username, attributes };
    if (security.authorizer !== undefined && !security.authorizer.canConnect(identity)) {
      return refuse(request, ReasonCode.NotAuthorized, 'not authorized to connect');
    }
    deps.directory.register(attributes, deps.security);
    const principal = `${acceptedBy}:${accepted.principal ?? username ?? JSON.stringify(Object.entries(attributes).sort())}`;
    return { ...accepted.extras, reasonCode: ReasonCode.Success, attributes, principal, ...(username !== undefined ? { username } : {}) };
  };
  /** AUTH 0x19: the same chain decides again (a port that lost its authentication refuses). */
  const reauthenticate = (request: AuthenticationRequest): AuthenticationResult | Promise<AuthenticationResult> => {
    reauths.add(request);
    const security = deps.security();
    if (security.authnName === undefined) return refuse(request, ReasonCode.NotAuthorized, 'the port no longer has authentication');
    return authenticateWith(security.authnName, security, request);
  };
  return {
    authenticate,
    reauthenticate,
    authorizePublish: (identity, topic) => deps.security().authorizer?.canPublish(identity, topic) ?? true,
    authorizeSubscribe: (identity, filter) => deps.security().authorizer?.canSubscribe(identity, filter) ?? true,
  };
}
