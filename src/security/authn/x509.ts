/** The `X509` authentication method (being implemented). */
import type { AuthnMethod, AuthnMethodConfig, AuthnMethodDeps } from './method.js';

/** Compiles a `X509` method. */
export function createX509Method(_config: AuthnMethodConfig, _deps: AuthnMethodDeps): AuthnMethod {
  return { name: 'X509', authenticate: () => ({ kind: 'notRelevant', reason: 'X509 is not implemented yet' }) };
}
