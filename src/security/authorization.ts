/**
 * BrokerAuthorization rules compiled into decisions (AIO semantics; docs/reference/az-cli-and-broker-config.md
 * §3.3): a rule applies to an identity its principals name (client ids, usernames, or one whole
 * attribute map; entries OR-ed); an action is allowed when an applying rule grants it; no rule
 * granting it denies (a resource with no rules denies everything).
 */
import type { ClientIdentity } from '../broker/hooks.js';
import type { AuthorizationProperties } from '../config/types.js';
import { bytesOf, compileGlob, GLOB_SPECIALS, ruleCoversFilter, ruleMatchesTopic, substitute, TOPIC_WILDCARDS } from './match.js';

/** A state store access: Read = get/keynotify, Write = set/del/vdel. */
export type KeyMethod = 'Read' | 'Write';

/** Compiled authorization decisions. */
export interface Authorizer {
  /** Whether the client may connect (a `Connect` resource whose clientIds, if any, match). */
  canConnect(identity: ClientIdentity): boolean;
  /** Whether the client may publish to the topic name. */
  canPublish(identity: ClientIdentity, topic: string): boolean;
  /** Whether the client may subscribe to the filter (covered by one rule topic). */
  canSubscribe(identity: ClientIdentity, filter: string): boolean;
  /** Whether the client may read or write the state store key. */
  canUseKey(identity: ClientIdentity, key: Buffer, method: KeyMethod): boolean;
}

interface Principals {
  readonly clientIds?: readonly string[];
  readonly usernames?: readonly string[];
  readonly attributes?: ReadonlyArray<Readonly<Record<string, string>>>;
}
interface BrokerResource {
  readonly method: 'Connect' | 'Publish' | 'Subscribe';
  readonly clientIds?: readonly string[];
  readonly topics?: readonly string[];
}
interface KeyResource {
  readonly keyType: 'Pattern' | 'String' | 'Binary';
  readonly keys: readonly string[];
  readonly method: 'Read' | 'Write' | 'ReadWrite';
}
interface Rule {
  readonly principals: Principals;
  readonly brokerResources: readonly BrokerResource[];
  readonly stateStoreResources?: readonly KeyResource[];
}

/** Whether the rule's principals name the identity. */
function applies(principals: Principals, identity: ClientIdentity): boolean {
  if (principals.clientIds?.includes(identity.clientId)) return true;
  if (identity.username !== undefined && principals.usernames?.includes(identity.username)) return true;
  return (principals.attributes ?? []).some(
    (map) => Object.keys(map).length > 0 && Object.entries(map).every(([k, v]) => Object.hasOwn(identity.attributes, k) && identity.attributes[k] === v),
  );
}

/** A key matcher for one `stateStoreResources` key. */
type KeyMatcher = (identity: ClientIdentity, key: Buffer) => boolean;

function keyMatcher(keyType: KeyResource['keyType'], key: string): KeyMatcher {
  if (keyType === 'String') {
    const bytes = Buffer.from(key, 'utf8');
    return (_identity, candidate) => candidate.equals(bytes);
  }
  if (keyType === 'Binary') {
    const bytes = Buffer.from(key, 'base64');
    return (_identity, candidate) => candidate.equals(bytes);
  }
  const fixed = key.includes('{') ? undefined : compileGlob(bytesOf(key));
  return (identity, candidate) => {
    const glob = fixed ?? globOf(key, identity);
    return glob !== undefined && glob.test(candidate.toString('latin1'));
  };
}

function globOf(template: string, identity: ClientIdentity): RegExp | undefined {
  const pattern = substitute(template, identity, GLOB_SPECIALS);
  return pattern === undefined ? undefined : compileGlob(bytesOf(pattern));
}

/** Compiles the `authorizationPolicies` of a BrokerAuthorization. */
export function compileAuthorization(resource: AuthorizationProperties): Authorizer {
  const policies = resource.authorizationPolicies as { rules?: readonly Rule[] };
  const rules = policies.rules ?? [];
  const compiled = rules.map((rule) => ({
    principals: rule.principals,
    connect: rule.brokerResources.filter((r) => r.method === 'Connect').map((r) => r.clientIds),
    publish: rule.brokerResources.filter((r) => r.method === 'Publish').flatMap((r) => r.topics ?? []),
    subscribe: rule.brokerResources.filter((r) => r.method === 'Subscribe').flatMap((r) => r.topics ?? []),
    read: (rule.stateStoreResources ?? []).filter((r) => r.method !== 'Write').flatMap((r) => r.keys.map((k) => keyMatcher(r.keyType, k))),
    write: (rule.stateStoreResources ?? []).filter((r) => r.method !== 'Read').flatMap((r) => r.keys.map((k) => keyMatcher(r.keyType, k))),
  }));
  const applying = (identity: ClientIdentity) => compiled.filter((rule) => applies(rule.principals, identity));
  const topicRule = (identity: ClientIdentity, topics: readonly string[], test: (rule: string) => boolean): boolean =>
    topics.some((t) => {
      const rule = substitute(t, identity, TOPIC_WILDCARDS);
      return rule !== undefined && test(rule);
    });
  return {
    canConnect: (identity) =>
      applying(identity).some((rule) =>
        rule.connect.some(
          (clientIds) =>
            clientIds === undefined ||
            clientIds.length === 0 ||
            clientIds.some((id) => {
              const glob = globOf(id, identity);
              return glob !== undefined && glob.test(bytesOf(identity.clientId));
            }),
        ),
      ),
    canPublish: (identity, topic) => applying(identity).some((rule) => topicRule(identity, rule.publish, (r) => ruleMatchesTopic(r, topic))),
    canSubscribe: (identity, filter) => applying(identity).some((rule) => topicRule(identity, rule.subscribe, (r) => ruleCoversFilter(r, filter))),
    canUseKey: (identity, key, method) => applying(identity).some((rule) => (method === 'Read' ? rule.read : rule.write).some((m) => m(identity, key))),
  };
}
