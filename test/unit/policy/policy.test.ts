import { describe, expect, it } from 'vitest';
import { buildCreatePersistence } from '../../../src/config/persist-flags.js';
import { decideRetain, decideStateStoreKey, decideSubscriberQueue, globMatches } from '../../../src/policy/decide.js';
import { topicMatches } from '../../../src/shared/topic.js';
import { toPersistPolicy } from '../../../src/policy/persist-policy.js';
import { PolicyHolder } from '../../../src/policy/policy-holder.js';
import { persistenceDecisions } from '../../../src/policy/engine-decisions.js';

const key = (s: string) => Buffer.from(s);

describe('toPersistPolicy', () => {
  it('is off without persistence and defaults the user property', () => {
    const p = toPersistPolicy(undefined);
    expect(p.enabled).toBe(false);
    expect(p.userProperty).toEqual({ key: 'aio-persistence', value: 'true' });
    expect(decideRetain(p, 'a')).toBe('memory');
  });

  it('turns dynamic on for Custom unless Disabled', () => {
    const p = toPersistPolicy(buildCreatePersistence({ maxSize: '1Gi' }));
    expect(p.retain).toEqual({ mode: 'Custom', match: [], dynamic: true });
    const q = toPersistPolicy({ maxSize: '1Gi', retain: { mode: 'Custom', retainSettings: { topics: ['a/#'], dynamic: { mode: 'Disabled' } } } });
    expect(q.retain).toEqual({ mode: 'Custom', match: ['a/#'], dynamic: false });
  });
});

describe('decisions', () => {
  const policy = toPersistPolicy({
    maxSize: '1Gi',
    retain: { mode: 'Custom', retainSettings: { topics: ['factory/#', 'ground/+/temp'] } },
    subscriberQueue: { mode: 'Custom', subscriberQueueSettings: { subscriberClientIds: ['factory-client-*'] } },
    stateStore: {
      mode: 'Custom',
      stateStoreSettings: {
        stateStoreResources: [
          { keyType: 'String', keys: ['device-001'] },
          { keyType: 'Pattern', keys: ['sensors/*'] },
          { keyType: 'Binary', keys: ['bXlrZXkx'] },
        ],
        dynamic: { mode: 'Disabled' },
      },
    },
    dynamicSettings: { userPropertyKey: 'disk', userPropertyValue: 'yes' },
  });

  it('retained messages: topic filters or the user property', () => {
    expect(decideRetain(policy, 'factory/a/b')).toBe('disk');
    expect(decideRetain(policy, 'ground/1/temp')).toBe('disk');
    expect(decideRetain(policy, 'other')).toBe('memory');
    expect(decideRetain(policy, 'other', [['disk', 'yes']])).toBe('disk');
    expect(decideRetain(policy, 'other', [['aio-persistence', 'true']])).toBe('memory');
  });

  it('subscriber queues: only sessions that outlive the connection', () => {
    expect(decideSubscriberQueue(policy, 'factory-client-7', 3600)).toBe('disk');
    expect(decideSubscriberQueue(policy, 'factory-client-7', 0)).toBe('memory');
    expect(decideSubscriberQueue(policy, 'x', 60, [['disk', 'yes']])).toBe('disk');
    expect(decideSubscriberQueue(policy, 'x', 60)).toBe('memory');
  });

  it('state-store keys: String exact, Pattern glob, Binary base64; dynamic disabled', () => {
    expect(decideStateStoreKey(policy, key('device-001'))).toBe('disk');
    expect(decideStateStoreKey(policy, key('sensors/9'))).toBe('disk');
    expect(decideStateStoreKey(policy, key('mykey1'))).toBe('disk');
    expect(decideStateStoreKey(policy, key('device-002'), [['disk', 'yes']])).toBe('memory');
  });

  it('All and None ignore the lists', () => {
    const all = toPersistPolicy({ maxSize: '1Gi', retain: { mode: 'All' }, stateStore: { mode: 'None' } });
    expect(decideRetain(all, 'anything')).toBe('disk');
    expect(decideStateStoreKey(all, key('k'))).toBe('memory');
    expect(decideSubscriberQueue(all, 'c', 10)).toBe('memory');
  });

  it('matches MQTT filters and globs', () => {
    expect(topicMatches('#', '$SYS/x')).toBe(false);
    expect(topicMatches('a/+', 'a/b')).toBe(true);
    expect(topicMatches('a/+', 'a/b/c')).toBe(false);
    expect(topicMatches('a/#', 'a')).toBe(true);
    expect(globMatches('f?o*', 'foo.bar')).toBe(true);
    expect(globMatches('a.b', 'axb')).toBe(false);
  });
});

describe('PolicyHolder', () => {
  it('swaps the policy atomically, versions it, and the decisions read the new one from the swap on', () => {
    const holder = new PolicyHolder({ maxSize: '1Gi', retain: { mode: 'None' } });
    const decisions = persistenceDecisions(holder);
    const before = holder.policy;
    expect(decisions.persistRetained('a', [])).toBe(false);
    holder.replace({ maxSize: '1Gi', retain: { mode: 'All' } });
    expect(before.retain.mode).toBe('None');
    expect(holder.policy.retain.mode).toBe('All');
    expect(holder.version).toBe(2);
    expect(decisions.persistRetained('a', [])).toBe(true);
    holder.replace(undefined);
    expect(holder.version).toBe(3);
    expect(decisions.persistRetained('a', [])).toBe(false);
    expect(Object.isFrozen(holder.policy)).toBe(true);
  });
});
