/** The `Custom` authentication method (being implemented). */
import type { AuthnMethod, AuthnMethodConfig, AuthnMethodDeps } from './method.js';

/** Compiles a `Custom` method. */
export function createCustomMethod(_config: AuthnMethodConfig, _deps: AuthnMethodDeps): AuthnMethod {
  return { name: 'Custom', authenticate: () => ({ kind: 'notRelevant', reason: 'Custom is not implemented yet' }) };
}
