/**
 * Validates a resource's properties: the JSON Schema first (every problem, with its path), then the
 * code rules of rules.ts. One report lists everything.
 */
import { OpsError } from '../shared/errors.js';
import { issueFromAjv, renderIssues, toJsonPath, type ConfigIssue } from './issues.js';
import { findTooDeepValue, MAX_CONFIG_DEPTH } from './json-depth.js';
import { authenticationRules, brokerRules, listenerRules, type OtherListener } from './rules.js';
import { schemaErrors } from './schemas.js';
import type {
  AuthenticationProperties,
  BrokerProperties,
  ListenerProperties,
  ResourceKind,
  ResourcePropertiesByKind,
} from './types.js';

/** Human names of the kinds, for reports. */
export const KIND_LABEL: Readonly<Record<ResourceKind, string>> = {
  broker: 'Broker config',
  listener: 'BrokerListener config',
  authentication: 'BrokerAuthentication config',
  authorization: 'BrokerAuthorization config',
};

/** Extra context for the code rules. */
export interface ValidateOptions {
  /** JSON path prefix (e.g. `properties` when the file wrapped the properties). */
  readonly pathPrefix?: string;
  /** The instance's other listeners (listener port uniqueness). */
  readonly otherListeners?: readonly OtherListener[];
}

/** Every problem of `value` as a `kind` document; empty when valid. */
export function findIssues(kind: ResourceKind, value: unknown, options: ValidateOptions = {}): ConfigIssue[] {
  const prefix = options.pathPrefix ?? '';
  const tooDeep = findTooDeepValue(value); // before ajv, which recurses per level
  if (tooDeep !== undefined) return [{ path: toJsonPath(tooDeep, prefix), message: `is nested deeper than ${MAX_CONFIG_DEPTH} levels of objects and arrays` }];
  const issues = schemaErrors(kind, value)
    .map((e) => issueFromAjv(e, prefix))
    .filter((i): i is ConfigIssue => i !== undefined);
  if (issues.length > 0) return dedupe(issues);
  switch (kind) {
    case 'broker':
      return brokerRules(value as BrokerProperties, prefix);
    case 'listener':
      return listenerRules(value as ListenerProperties, options.otherListeners, prefix);
    case 'authentication':
      return authenticationRules(value as AuthenticationProperties, prefix);
    case 'authorization':
      return [];
  }
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Returns `value` typed as `kind` or throws `CFG_SCHEMA_INVALID` listing every problem.
 * @param source what to call the document in the report (a file path, or "the request").
 */
export function assertValid<K extends ResourceKind>(
  kind: K,
  value: unknown,
  source: string,
  options: ValidateOptions = {},
): ResourcePropertiesByKind[K] {
  const issues = findIssues(kind, value, options);
  if (issues.length > 0) {
    throw new OpsError('CFG_SCHEMA_INVALID', {
      source,
      kind: KIND_LABEL[kind],
      count: issues.length,
      problems: renderIssues(issues),
    });
  }
  return value as ResourcePropertiesByKind[K];
}
