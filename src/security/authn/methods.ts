/** Builds the compiled method of one `authenticationMethods` element. */
import { ReasonCode } from '../../protocol/reason-codes.js';
import { createCustomMethod } from './custom.js';
import type { AuthnMethod, AuthnMethodConfig, AuthnMethodDeps } from './method.js';
import { createServiceAccountTokenMethod } from './service-account-token.js';
import { createX509Method } from './x509.js';

/** The method of `config` (an unknown method name refuses every client with 0x8C). */
export function createAuthnMethod(config: AuthnMethodConfig, deps: AuthnMethodDeps): AuthnMethod {
  switch (config.method) {
    case 'ServiceAccountToken':
      return createServiceAccountTokenMethod(config, deps);
    case 'X509':
      return createX509Method(config, deps);
    case 'Custom':
      return createCustomMethod(config, deps);
    default:
      return {
        name: config.method,
        authenticate: () => ({ kind: 'deny', reasonCode: ReasonCode.BadAuthenticationMethod, reason: `authentication method ${config.method} is unknown` }),
      };
  }
}
