/**
 * One authentication method of a BrokerAuthentication resource (AIO: ServiceAccountToken, X509,
 * Custom; ours: the password file). A port's methods are tried in order, as AIO does: a method that
 * does not apply to the client (no certificate, no token, custom server unreachable) says
 * `notRelevant` and the next one is tried; the first `allow` or `deny` decides.
 */
import type { AuthenticationRequest, AuthenticationResult } from '../../broker/hooks.js';
import type { Logger } from '../../shared/log.js';

/** The method accepts the client. */
export interface AuthnAllow {
  readonly kind: 'allow';
  /** Username for authorization (X.509: the certificate's CN); default the CONNECT's. */
  readonly username?: string;
  /** Attributes for authorization rules (`{principal.attributes.X}`, attribute principals). */
  readonly attributes: Readonly<Record<string, string>>;
  /**
   * Who the client is within the method, when the username does not say it all (X.509: the
   * certificate's subject); the session is bound to `METHOD:principal` (default: the username).
   */
  readonly principal?: string;
  /** Further fields for the engine's decision (credential expiry, enhanced authentication reply). */
  readonly extras?: Omit<AuthenticationResult, 'reasonCode' | 'attributes' | 'username' | 'reasonString'>;
}

/** The method refuses the client: its CONNACK reason code and why (logged, and the v5 reason string). */
export interface AuthnDeny {
  readonly kind: 'deny';
  readonly reasonCode: number;
  readonly reason: string;
}

/** The method does not apply to this client; the next method is tried. */
export interface AuthnNotRelevant {
  readonly kind: 'notRelevant';
  /** Why (logged at debug when no method decides). */
  readonly reason: string;
}

/** What a method says of one CONNECT. */
export type AuthnOutcome = AuthnAllow | AuthnDeny | AuthnNotRelevant;

/** A compiled authentication method (made once per `authn apply`, used for every CONNECT). */
export interface AuthnMethod {
  /** The AIO method name (`ServiceAccountToken`, `X509`, `Custom`) or `PasswordFile`. */
  readonly name: string;
  authenticate(request: AuthenticationRequest): AuthnOutcome | Promise<AuthnOutcome>;
}

/** One element of `authenticationMethods` as stored (validated by the schema, opaque otherwise). */
export type AuthnMethodConfig = Readonly<Record<string, unknown>> & { readonly method: string };

/** What methods may use. */
export interface AuthnMethodDeps {
  readonly logger: Logger;
  /**
   * The instance's `secrets/` folder: stands in for Kubernetes secrets and config maps, so a
   * reference `NAME` (trustedClientCaCert, caCertConfigMap, secretRef) is the folder `secrets/NAME/`.
   */
  readonly secretsDir: string;
}
