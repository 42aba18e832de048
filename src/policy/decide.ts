/**
 * Pure persistence decisions: does this retained message, subscriber queue or state-store key go
 * to disk under the policy? Called by the broker engine and the state store; `'memory' | 'disk'`.
 */
import { topicMatches } from '../shared/topic.js';
import type { PersistPolicy } from './persist-policy.js';

/** Where a piece of data lives. */
export type Placement = 'memory' | 'disk';

/** MQTT v5 user properties as `[key, value]` pairs. */
export type UserProperties = ReadonlyArray<readonly [string, string]>;

/** True when `value` matches a glob with `*` (any run) and `?` (one character). */
export function globMatches(glob: string, value: string): boolean {
  let compiled = globCache.get(glob);
  if (compiled === undefined) {
    const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    compiled = new RegExp(`^${re}$`, 's');
    if (globCache.size >= 1024) globCache.clear(); // policies hold few globs; bounded all the same
    globCache.set(glob, compiled);
  }
  return compiled.test(value);
}

/** Compiled policy globs: decisions run per CONNECT and per state-store SET. */
const globCache = new Map<string, RegExp>();

function asked(policy: PersistPolicy, props: UserProperties): boolean {
  return props.some(([k, v]) => k === policy.userProperty.key && v === policy.userProperty.value);
}

/** Where a retained message on `topic` is stored. */
export function decideRetain(policy: PersistPolicy, topic: string, props: UserProperties = []): Placement {
  const c = policy.retain;
  if (!policy.enabled || c.mode === 'None') return 'memory';
  if (c.mode === 'All') return 'disk';
  return c.match.some((f) => topicMatches(f, topic)) || (c.dynamic && asked(policy, props)) ? 'disk' : 'memory';
}

/** Where the queue of a session is kept; sessions that expire at disconnect are always in memory. */
export function decideSubscriberQueue(
  policy: PersistPolicy,
  clientId: string,
  sessionExpirySeconds: number,
  connectProps: UserProperties = [],
): Placement {
  const c = policy.subscriberQueue;
  if (!policy.enabled || c.mode === 'None' || sessionExpirySeconds <= 0) return 'memory';
  if (c.mode === 'All') return 'disk';
  return c.match.some((g) => globMatches(g, clientId)) || (c.dynamic && asked(policy, connectProps)) ? 'disk' : 'memory';
}

/** Where a state-store key is stored. */
export function decideStateStoreKey(policy: PersistPolicy, key: Uint8Array, props: UserProperties = []): Placement {
  const c = policy.stateStore;
  if (!policy.enabled || c.mode === 'None') return 'memory';
  if (c.mode === 'All') return 'disk';
  const text = Buffer.from(key).toString('utf8');
  const b64 = Buffer.from(key).toString('base64');
  const hit = c.match.some((group) =>
    group.keys.some((k) => (group.keyType === 'String' ? k === text : group.keyType === 'Pattern' ? globMatches(k, text) : k === b64)),
  );
  return hit || (c.dynamic && asked(policy, props)) ? 'disk' : 'memory';
}
