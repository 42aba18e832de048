/**
 * `authn method add` as the AIO CLI does it: at most one method of each kind from the flags, in the
 * order SAT, X509, Custom, appended to the existing methods (no de-duplication).
 */
import { OpsError } from '../shared/errors.js';
import type { AuthenticationProperties } from './types.js';

/** Flags of `authn method add`. */
export interface MethodAddArgs {
  satAudiences?: readonly string[];
  x509ClientCaRef?: string;
  /** `--x509-attr` groups of `a.b.c=value` tokens. */
  x509Attributes?: readonly (readonly string[])[];
  customEndpoint?: string;
  customCaRef?: string;
  customX509SecretRef?: string;
  /** `--custom-header` groups of `k=v` tokens. */
  customHeaders?: readonly (readonly string[])[];
}

/** AIO message when no method flag is given. */
export const NO_METHOD_MESSAGE = 'At least one authn config is required.';

/** Expands dot-notation `a.b.c=value` tokens into a nested object. */
export function dotNotation(tokens: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const token of tokens) {
    const eq = token.indexOf('=');
    const path = (eq < 0 ? token : token.slice(0, eq)).split('.');
    const value = eq < 0 ? '' : token.slice(eq + 1);
    let node = out;
    path.forEach((part, i) => {
      if (i === path.length - 1) node[part] = value;
      else {
        const next = node[part];
        node = (typeof next === 'object' && next !== null ? next : (node[part] = {})) as Record<string, unknown>;
      }
    });
  }
  return out;
}

function kvp(tokens: readonly string[]): Record<string, string> {
  return Object.fromEntries(tokens.map((t) => [t.split('=')[0] ?? '', t.includes('=') ? t.slice(t.indexOf('=') + 1) : '']));
}

/** Builds the methods the flags describe; throws `At least one authn config is required.` when none. */
export function buildMethods(a: MethodAddArgs): Array<Record<string, unknown> & { method: string }> {
  const methods: Array<Record<string, unknown> & { method: string }> = [];
  if (a.satAudiences?.length) methods.push({ method: 'ServiceAccountToken', serviceAccountTokenSettings: { audiences: [...a.satAudiences] } });
  if (a.x509ClientCaRef !== undefined || a.x509Attributes?.length) {
    const settings: Record<string, unknown> = {};
    if (a.x509ClientCaRef !== undefined) settings['trustedClientCaCert'] = a.x509ClientCaRef;
    if (a.x509Attributes?.length) settings['authorizationAttributes'] = dotNotation(a.x509Attributes.flat());
    methods.push({ method: 'X509', x509Settings: settings });
  }
  if (a.customEndpoint !== undefined || a.customCaRef !== undefined || a.customX509SecretRef !== undefined || a.customHeaders?.length) {
    const settings: Record<string, unknown> = {};
    if (a.customEndpoint !== undefined) settings['endpoint'] = a.customEndpoint;
    if (a.customCaRef !== undefined) settings['caCertConfigMap'] = a.customCaRef;
    if (a.customX509SecretRef !== undefined) settings['auth'] = { x509: { secretRef: a.customX509SecretRef } };
    if (a.customHeaders?.length) settings['headers'] = kvp(a.customHeaders.flat());
    methods.push({ method: 'Custom', customSettings: settings });
  }
  if (methods.length === 0) throw new OpsError('CFG_FLAG_INVALID', { message: NO_METHOD_MESSAGE });
  return methods;
}

/** Appends the methods of the flags to `existing` (or starts a new authentication). */
export function addMethods(existing: AuthenticationProperties | undefined, a: MethodAddArgs): AuthenticationProperties {
  return { ...existing, authenticationMethods: [...(existing?.authenticationMethods ?? []), ...buildMethods(a)] };
}
