/** The `ServiceAccountToken` authentication method (being implemented). */
import type { AuthnMethod, AuthnMethodConfig, AuthnMethodDeps } from './method.js';

/** Compiles a `ServiceAccountToken` method. */
export function createServiceAccountTokenMethod(_config: AuthnMethodConfig, _deps: AuthnMethodDeps): AuthnMethod {
  return { name: 'ServiceAccountToken', authenticate: () => ({ kind: 'notRelevant', reason: 'ServiceAccountToken is not implemented yet' }) };
}
