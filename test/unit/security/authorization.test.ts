import { describe, expect, it } from 'vitest';
import type { ClientIdentity } from '../../../src/broker/hooks.js';
import { compileAuthorization } from '../../../src/security/authorization.js';

const id = (clientId: string, username?: string, attributes: Record<string, string> = {}): ClientIdentity => ({ clientId, username, attributes });
const rules = (...list: unknown[]) => compileAuthorization({ authorizationPolicies: { cache: 'Enabled', rules: list } });

/** The first example of AIO's "Configure MQTT broker authorization" page. */
const aioExample = rules({
  principals: { clientIds: ['temperature-sensor', 'humidity-sensor'], attributes: [{ city: 'seattle', organization: 'contoso' }] },
  brokerResources: [
    { method: 'Connect' },
    { method: 'Publish', topics: ['/telemetry/{principal.clientId}', '/telemetry/{principal.attributes.organization}'] },
    { method: 'Subscribe', topics: ['/commands/{principal.attributes.organization}'] },
  ],
  stateStoreResources: [
    { method: 'Read', keyType: 'Pattern', keys: ['myreadkey', 'myotherkey?', 'mynumerickeysuffix[0-9]', 'clients:{principal.clientId}:*'] },
    { method: 'ReadWrite', keyType: 'Binary', keys: ['xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'] },
  ],
});

describe('compileAuthorization: principals', () => {
  it('matches client ids, usernames and whole attribute maps (OR-ed)', () => {
    const authz = rules({ principals: { clientIds: ['c1'], usernames: ['bob'], attributes: [{ a: '1', b: '2' }, { c: '3' }] }, brokerResources: [{ method: 'Connect' }] });
    expect(authz.canConnect(id('c1'))).toBe(true);
    expect(authz.canConnect(id('x', 'bob'))).toBe(true);
    expect(authz.canConnect(id('x', undefined, { a: '1', b: '2', extra: 'y' }))).toBe(true);
    expect(authz.canConnect(id('x', undefined, { c: '3' }))).toBe(true);
    expect(authz.canConnect(id('x', undefined, { a: '1' }))).toBe(false); // a map must match as a whole
    expect(authz.canConnect(id('x', 'alice', { b: '2' }))).toBe(false);
  });

  it('denies everything without rules, and with empty principals', () => {
    const none = compileAuthorization({ authorizationPolicies: {} });
    expect(none.canConnect(id('c'))).toBe(false);
    expect(none.canPublish(id('c'), 'a')).toBe(false);
    expect(none.canSubscribe(id('c'), 'a')).toBe(false);
    expect(none.canUseKey(id('c'), Buffer.from('k'), 'Read')).toBe(false);
    expect(rules({ principals: {}, brokerResources: [{ method: 'Connect' }] }).canConnect(id('c'))).toBe(false);
  });

  it('needs a Connect grant to connect', () => {
    const authz = rules({ principals: { clientIds: ['c'] }, brokerResources: [{ method: 'Publish', topics: ['#'] }] });
    expect(authz.canConnect(id('c'))).toBe(false);
    expect(authz.canPublish(id('c'), 'x')).toBe(true);
  });
});

describe('compileAuthorization: the AIO documentation example', () => {
  const sensor = id('temperature-sensor');
  const seattle = id('any', undefined, { city: 'seattle', organization: 'contoso' });

  it('connects the named clients and attribute holders only', () => {
    expect(aioExample.canConnect(sensor)).toBe(true);
    expect(aioExample.canConnect(seattle)).toBe(true);
    expect(aioExample.canConnect(id('other'))).toBe(false);
  });

  it('substitutes clientId and attributes in publish topics; a missing attribute never matches', () => {
    expect(aioExample.canPublish(sensor, '/telemetry/temperature-sensor')).toBe(true);
    expect(aioExample.canPublish(sensor, '/telemetry/humidity-sensor')).toBe(false);
    expect(aioExample.canPublish(sensor, '/telemetry/{principal.attributes.organization}')).toBe(false);
    expect(aioExample.canPublish(sensor, '/telemetry/')).toBe(false);
    expect(aioExample.canPublish(seattle, '/telemetry/contoso')).toBe(true);
    expect(aioExample.canPublish(seattle, '/telemetry/any')).toBe(true);
    expect(aioExample.canPublish(seattle, '/commands/contoso')).toBe(false);
  });

  it('allows subscriptions covered by a rule topic', () => {
    expect(aioExample.canSubscribe(seattle, '/commands/contoso')).toBe(true);
    expect(aioExample.canSubscribe(seattle, '/commands/+')).toBe(false);
    expect(aioExample.canSubscribe(seattle, '/commands/#')).toBe(false);
    expect(aioExample.canSubscribe(sensor, '/commands/contoso')).toBe(false);
    expect(aioExample.canSubscribe(seattle, '$share/g/commands/contoso')).toBe(false);
    expect(aioExample.canSubscribe(seattle, '$share/g//commands/contoso')).toBe(true);
  });

  it('grants state store keys by Pattern (glob, substitution) and Binary, per method', () => {
    const key = (k: string) => Buffer.from(k);
    expect(aioExample.canUseKey(sensor, key('myreadkey'), 'Read')).toBe(true);
    expect(aioExample.canUseKey(sensor, key('myreadkey'), 'Write')).toBe(false);
    expect(aioExample.canUseKey(sensor, key('myotherkey1'), 'Read')).toBe(true);
    expect(aioExample.canUseKey(sensor, key('myotherkey12'), 'Read')).toBe(false);
    expect(aioExample.canUseKey(sensor, key('mynumerickeysuffix7'), 'Read')).toBe(true);
    expect(aioExample.canUseKey(sensor, key('mynumerickeysuffixA'), 'Read')).toBe(false);
    expect(aioExample.canUseKey(sensor, key('clients:temperature-sensor:a/b'), 'Read')).toBe(true);
    expect(aioExample.canUseKey(sensor, key('clients:humidity-sensor:a'), 'Read')).toBe(false);
    const binary = Buffer.from('xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'base64');
    expect(aioExample.canUseKey(sensor, binary, 'Read')).toBe(true);
    expect(aioExample.canUseKey(sensor, binary, 'Write')).toBe(true);
    expect(aioExample.canUseKey(sensor, key('xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'), 'Write')).toBe(false);
  });
});

describe('compileAuthorization: substitution and key types', () => {
  it('substitutes attributes in Connect client ids (the AIO building example)', () => {
    const authz = rules({
      principals: { attributes: [{ building: 'building22' }] },
      brokerResources: [{ method: 'Connect', clientIds: ['{principal.attributes.building}*'] }, { method: 'Publish', topics: ['sensors/{principal.attributes.building}/{principal.clientId}/sensor'] }],
    });
    const b22 = (clientId: string) => id(clientId, undefined, { building: 'building22' });
    expect(authz.canConnect(b22('building22-probe'))).toBe(true);
    expect(authz.canConnect(b22('building23-probe'))).toBe(false);
    expect(authz.canPublish(b22('building22-probe'), 'sensors/building22/building22-probe/sensor')).toBe(true);
    expect(authz.canPublish(b22('building22-probe'), 'sensors/building22/other/sensor')).toBe(false);
  });

  it('substitutes the username; no username never matches', () => {
    const authz = rules({ principals: { clientIds: ['c'], usernames: ['u'] }, brokerResources: [{ method: 'Publish', topics: ['users/{principal.username}/#'] }] });
    expect(authz.canPublish(id('x', 'u'), 'users/u/a/b')).toBe(true);
    expect(authz.canPublish(id('x', 'u'), 'users/v/a')).toBe(false);
    expect(authz.canPublish(id('c'), 'users//a')).toBe(false);
  });

  it('refuses substituted values that would widen a rule (wildcards, glob characters)', () => {
    const authz = rules({
      principals: { usernames: ['u'] },
      brokerResources: [{ method: 'Subscribe', topics: ['t/{principal.clientId}'] }],
      stateStoreResources: [{ keyType: 'Pattern', keys: ['k/{principal.clientId}'], method: 'Read' }],
    });
    expect(authz.canSubscribe(id('#', 'u'), 't/#')).toBe(false);
    expect(authz.canSubscribe(id('+', 'u'), 't/+')).toBe(false);
    expect(authz.canUseKey(id('*', 'u'), Buffer.from('k/anything'), 'Read')).toBe(false);
    expect(authz.canUseKey(id('me', 'u'), Buffer.from('k/me'), 'Read')).toBe(true);
  });

  it('a substituted value with a topic separator, a wildcard or nothing never matches, for every variable and resource', () => {
    const authz = rules({
      principals: { usernames: ['alice', 'a/b', ''], attributes: [{ role: 'dev' }] },
      brokerResources: [
        { method: 'Connect', clientIds: ['{principal.username}-*'] },
        { method: 'Publish', topics: ['devices/{principal.clientId}/#', 'users/{principal.username}/#', 'floors/{principal.attributes.floor}/#'] },
        { method: 'Subscribe', topics: ['devices/{principal.clientId}/#'] },
      ],
      stateStoreResources: [{ keyType: 'Pattern', keys: ['keys/{principal.clientId}/*'], method: 'ReadWrite' }],
    });
    // client id alice-1/x: `devices/alice-1/x/#` would cover alice-1's topics and keys
    const slashed = id('alice-1/x', 'alice');
    expect(authz.canPublish(slashed, 'devices/alice-1/x/t')).toBe(false);
    expect(authz.canPublish(slashed, 'devices/alice-1/t')).toBe(false);
    expect(authz.canSubscribe(slashed, 'devices/alice-1/x/#')).toBe(false);
    expect(authz.canUseKey(slashed, Buffer.from('keys/alice-1/x/k'), 'Write')).toBe(false);
    expect(authz.canUseKey(slashed, Buffer.from('keys/alice-1/k'), 'Read')).toBe(false);
    // the same rules for a plain client id still grant
    expect(authz.canPublish(id('alice-1', 'alice'), 'devices/alice-1/t')).toBe(true);
    expect(authz.canUseKey(id('alice-1', 'alice'), Buffer.from('keys/alice-1/k'), 'Write')).toBe(true);
    // username and attributes: separators, wildcards and empty values
    expect(authz.canPublish(id('c', 'a/b'), 'users/a/b/t')).toBe(false);
    expect(authz.canConnect(id('a/b-1', 'a/b'))).toBe(false);
    expect(authz.canPublish(id('c', ''), 'users//t')).toBe(false);
    expect(authz.canPublish(id('c', undefined, { role: 'dev', floor: '2/3' }), 'floors/2/3/t')).toBe(false);
    expect(authz.canPublish(id('c', undefined, { role: 'dev', floor: '+' }), 'floors/+/t')).toBe(false);
    expect(authz.canPublish(id('c', undefined, { role: 'dev', floor: '' }), 'floors//t')).toBe(false);
    expect(authz.canPublish(id('c', undefined, { role: 'dev', floor: '2' }), 'floors/2/t')).toBe(true);
  });

  it('compares String keys exactly and treats ReadWrite as both', () => {
    const authz = rules({ principals: { clientIds: ['c'] }, brokerResources: [], stateStoreResources: [{ keyType: 'String', keys: ['a*'], method: 'Write' }] });
    expect(authz.canUseKey(id('c'), Buffer.from('a*'), 'Write')).toBe(true);
    expect(authz.canUseKey(id('c'), Buffer.from('ab'), 'Write')).toBe(false);
    expect(authz.canUseKey(id('c'), Buffer.from('a*'), 'Read')).toBe(false);
  });

  it('combines grants across rules that apply', () => {
    const authz = rules(
      { principals: { usernames: ['u'] }, brokerResources: [{ method: 'Publish', topics: ['a'] }] },
      { principals: { attributes: [{ role: 'x' }] }, brokerResources: [{ method: 'Publish', topics: ['b'] }] },
    );
    const both = id('c', 'u', { role: 'x' });
    expect(authz.canPublish(both, 'a')).toBe(true);
    expect(authz.canPublish(both, 'b')).toBe(true);
    expect(authz.canPublish(id('c', 'u'), 'b')).toBe(false);
  });
});
