/**
 * Per-port security hooks (AIO: each listener port names one BrokerAuthentication and one
 * BrokerAuthorization). The hooks ask `security()` at every decision, so resources applied live
 * take effect on the next CONNECT, PUBLISH, SUBSCRIBE or state store request.
 *
 * Authentication: a port without `authenticationRef` accepts everyone (and authorization does not
 * apply, as AIO). With one, a CONNECT carrying a username and password is checked against the
 * instance's password file when that file names the user; otherwise the resource's methods
 * (ServiceAccountToken, X509, Custom) would decide, and this build implements none of them yet, so
 * the CONNECT is refused with 0x8C (Bad authentication method) and a warning naming the methods.
 * Authorization after a successful authentication: no `Connect` grant refuses with 0x87.
 */
import type { AuthenticationRequest, AuthenticationResult, BrokerHooks, ClientIdentity } from '../broker/hooks.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import type { Logger } from '../shared/log.js';
import type { Authorizer, KeyMethod } from './authorization.js';
import { verifyPassword, type PasswdEntry } from './passwd.js';

/** What a port's resources say, now. */
export interface PortSecurity {
  /** `authenticationRef` of the port; undefined: no authentication (nor authorization). */
  readonly authnName: string | undefined;
  /** The referenced resource's methods; undefined when the resource does not exist. */
  readonly authnMethods: readonly string[] | undefined;
  /** Compiled rules of `authorizationRef` (only with authentication; a missing resource denies all). */
  readonly authorizer: Authorizer | undefined;
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
  const refuse = (request: AuthenticationRequest, reasonCode: number, reasonString: string): AuthenticationResult => {
    logger.warn({ ...where, clientId: request.clientId, username: request.username, reasonCode }, `connection refused: ${reasonString}`);
    return { reasonCode, reasonString };
  };
  const authenticate = (request: AuthenticationRequest): AuthenticationResult | Promise<AuthenticationResult> => {
    const security = deps.security();
    if (security.authnName !== undefined) return authenticateWith(security.authnName, security, request);
    if (request.authenticationMethod !== undefined) return { reasonCode: ReasonCode.BadAuthenticationMethod, reasonString: `authentication method ${request.authenticationMethod} is not supported` };
    const attributes = {};
    deps.directory.register(attributes, deps.security);
    return { reasonCode: ReasonCode.Success, attributes }; // synchronous: open ports do not wait
  };
  const authenticateWith = async (authnName: string, security: PortSecurity, request: AuthenticationRequest): Promise<AuthenticationResult> => {
    if (security.authnMethods === undefined) return refuse(request, ReasonCode.NotAuthorized, `authentication '${authnName}' does not exist`);
    let accepted: { username: string | undefined; attributes: Record<string, string> } | undefined;
    const users = request.authenticationMethod === undefined && request.username !== undefined ? await deps.passwd() : undefined;
    const entry = request.username === undefined ? undefined : users?.get(request.username);
    if (entry !== undefined) {
      if (request.password === undefined || !(await verifyPassword(entry, request.password))) {
        return refuse(request, ReasonCode.BadUserNameOrPassword, 'bad username or password');
      }
      accepted = { username: entry.username, attributes: { ...entry.attributes } };
    } else {
      const methods = security.authnMethods.join(', ') || 'none';
      return refuse(request, ReasonCode.BadAuthenticationMethod, `authentication '${authnName}' has methods this build does not implement (${methods}) and the client is not in the password file`);
    }
    const identity: ClientIdentity = { clientId: request.clientId, username: accepted.username, attributes: accepted.attributes };
    if (security.authorizer !== undefined && !security.authorizer.canConnect(identity)) {
      return refuse(request, ReasonCode.NotAuthorized, 'not authorized to connect');
    }
    deps.directory.register(accepted.attributes, deps.security);
    return { reasonCode: ReasonCode.Success, attributes: accepted.attributes, ...(accepted.username !== undefined ? { username: accepted.username } : {}) };
  };
  return {
    authenticate,
    authorizePublish: (identity, topic) => deps.security().authorizer?.canPublish(identity, topic) ?? true,
    authorizeSubscribe: (identity, filter) => deps.security().authorizer?.canSubscribe(identity, filter) ?? true,
  };
}
