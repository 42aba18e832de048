import { describe, expect, it } from 'vitest';
import { persistUpdateRequest } from '../../../../src/config/changes/persist-update.js';
import { limitsSetRequest } from '../../../../src/config/changes/limits.js';
import { logLevelRequest } from '../../../../src/config/changes/broker-settings.js';
import { resourceApplyRequest, resourceDeleteRequest } from '../../../../src/config/changes/resources.js';
import { applyChange, parseChangeRequest, type ChangeRequest } from '../../../../src/config/changes/runtime-change.js';
import { parseRuntimeState, type RuntimeState } from '../../../../src/config/runtime-state.js';
import type { DeploymentSettings } from '../../../../src/config/split.js';
import { OpsError } from '../../../../src/shared/errors.js';

const deployment: DeploymentSettings = { memoryProfile: 'Low', persistence: { maxSize: '1Gi' } };
const env = { deployment, instance: 'inst' };
const custom = (key: string) => ({ mode: 'Custom', [`${key}Settings`]: { dynamic: { mode: 'Enabled' } } });
const base = (): RuntimeState =>
  parseRuntimeState(
    {
      version: 1,
      host: '127.0.0.1',
      broker: { persistence: { stateStore: custom('stateStore'), retain: custom('retain'), subscriberQueue: custom('subscriberQueue') } },
      listeners: { default: { ports: [{ port: 1883 }] } },
      authentications: {},
      authorizations: {},
    },
    'runtime.json',
  );
const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (err instanceof OpsError) return err.code;
    throw err;
  }
  return 'no error';
};

describe('runtime changes (pure state -> state)', () => {
  it('persist update: the flags become a typed request, applied to the runtime half only', () => {
    const request = persistUpdateRequest({ persistMode: ['retain=All', 'stateStore=Custom'], stateStoreStrKeys: [['a', 'b']], disableDynamic: ['stateStore'] });
    expect(request).toEqual({
      v: 1,
      kind: 'persist.update',
      modes: { retain: 'All', stateStore: 'Custom' },
      stateStoreResources: [{ keys: ['a', 'b'], keyType: 'String' }],
      disableDynamic: ['stateStore'],
    });
    const before = base();
    const { state, touches } = applyChange(before, request, env);
    expect(state.broker.persistence?.retain).toEqual({ mode: 'All' });
    expect(state.broker.persistence?.stateStore).toEqual({
      mode: 'Custom',
      stateStoreSettings: { stateStoreResources: [{ keys: ['a', 'b'], keyType: 'String' }], dynamic: { mode: 'Disabled' } },
    });
    expect(state.broker.persistence).not.toHaveProperty('maxSize'); // the locked half stays in the lock
    expect([...touches]).toEqual(['persistence']);
    expect(state.listeners).toBe(before.listeners);
    expect(before).toEqual(base()); // the input is not modified
  });

  it('persist update: a request that comes through JSON (the admin socket) applies the same', () => {
    const request = persistUpdateRequest({ persistMode: ['subscriberQueue=Custom'], subscriberClientIds: ['c-*'], userKey: 'k', userValue: 'v' });
    const wired = parseChangeRequest(JSON.parse(JSON.stringify(request)));
    expect(wired).toEqual(request);
    expect(applyChange(base(), wired, env).state).toEqual(applyChange(base(), request, env).state);
  });

  it('persist update: refusals carry the AIO codes and messages', () => {
    expect(() => persistUpdateRequest({ persistMode: ['Retain=All'] })).toThrow('Invalid persistence mode key: Retain.');
    expect(() => persistUpdateRequest({ disableDynamic: ['nope'] })).toThrow('Invalid disable dynamic key: nope.');
    expect(() => persistUpdateRequest({ userKey: 'k' })).toThrow('Both --user-key and --user-value must be set');
    const none = applyChange(base(), persistUpdateRequest({ persistMode: ['retain=None'] }), env).state;
    expect(() => applyChange(none, persistUpdateRequest({ retainTopics: ['t'] }), env)).toThrow("retain mode must be set to 'Custom'");
    expect(codeOf(() => applyChange(base(), persistUpdateRequest({}), { ...env, deployment: { memoryProfile: 'Low' } }))).toBe('CFG_PERSIST_NOT_ENABLED');
    expect(codeOf(() => applyChange(base(), persistUpdateRequest({ persistMode: ['retain=Custom'], retainTopics: ['a/#/b'] }), env))).toBe('CFG_SCHEMA_INVALID');
  });

  it('log level: checked against the Broker schema, other settings kept', () => {
    const { state, touches } = applyChange(base(), logLevelRequest('debug'), env);
    expect(state.broker.diagnostics?.logs?.level).toBe('debug');
    expect(state.broker.persistence).toEqual(base().broker.persistence);
    expect([...touches]).toEqual(['logLevel']);
    expect(codeOf(() => applyChange(base(), logLevelRequest('loud'), env))).toBe('CFG_SCHEMA_INVALID');
  });

  it('broker update: only the runtime half may change', () => {
    const request: ChangeRequest = { v: 1, kind: 'broker.update', properties: { memoryProfile: 'High', persistence: { maxSize: '1Gi' } } };
    expect(codeOf(() => applyChange(base(), request, env))).toBe('CFG_SETTING_LOCKED');
    const ok: ChangeRequest = { v: 1, kind: 'broker.update', properties: { memoryProfile: 'Low', persistence: { maxSize: '1Gi', retain: { mode: 'None' } } } };
    expect(applyChange(base(), ok, env).state.broker).toEqual({ persistence: { retain: { mode: 'None' } } });
  });

  it('limits: flags read into numbers, merged into the stored limits, ranges checked again when applied', () => {
    const request = limitsSetRequest({ maxConnectPacketBytes: '64Ki', maxTopicLevels: '9' });
    expect(request.limits).toEqual({ maxConnectPacketBytes: 65_536, maxTopicLevels: 9 });
    const first = applyChange(base(), request, env);
    const { state, touches } = applyChange(first.state, limitsSetRequest({ maxTopicLevels: 5 }), env);
    expect(state.limits).toEqual({ maxConnectPacketBytes: 65_536, maxTopicLevels: 5 });
    expect([...touches]).toEqual(['limits']);
    expect(() => limitsSetRequest({})).toThrow('Give at least one of');
    expect(() => applyChange(base(), { v: 1, kind: 'limits.set', limits: { maxTopicLevels: 0 } }, env)).toThrow('--max-topic-levels must be');
  });

  it('resources: apply validates (listener ports unique), delete refuses a missing name; listeners touch ports, the others only security', () => {
    const added = applyChange(base(), resourceApplyRequest('listener', 'two', { ports: [{ port: 1884 }] }, 'f.json'), env);
    expect(Object.keys(added.state.listeners)).toEqual(['default', 'two']);
    expect([...added.touches]).toEqual(['listeners', 'security']);
    expect(codeOf(() => applyChange(base(), resourceApplyRequest('listener', 'two', { ports: [{ port: 1883 }] }, 'f.json'), env))).toBe('CFG_SCHEMA_INVALID');
    expect(codeOf(() => applyChange(base(), resourceApplyRequest('listener', 'Bad_Name', { ports: [{ port: 1 }] }, 'f.json'), env))).toBe('CFG_FLAG_INVALID');
    const authz = applyChange(base(), resourceApplyRequest('authorization', 'rules', { authorizationPolicies: { rules: [] } }, 'f.json'), env);
    expect([...authz.touches]).toEqual(['security']);
    expect(applyChange(authz.state, resourceDeleteRequest('authorization', 'rules'), env).state.authorizations).toEqual({});
    expect(() => applyChange(base(), resourceDeleteRequest('authentication', 'gone'), env)).toThrow("Authentication 'gone' was not found in instance 'inst'.");
    expect(codeOf(() => applyChange(base(), resourceDeleteRequest('listener', '__proto__'), env))).toBe('CFG_RESOURCE_NOT_FOUND');
  });
});

describe('change request validation (what comes over the admin socket)', () => {
  const reason = (value: unknown): string => {
    try {
      parseChangeRequest(value);
    } catch (err) {
      if (err instanceof OpsError) return `${err.code}: ${err.message}`;
      throw err;
    }
    return 'accepted';
  };

  it('refuses what is not a typed, versioned request of a known kind', () => {
    expect(reason(null)).toMatch(/^ADM_BAD_REQUEST: .*must be an object/);
    expect(reason([1])).toMatch(/^ADM_BAD_REQUEST/);
    expect(reason({ kind: 'persist.update' })).toMatch(/^ADM_BAD_REQUEST: .*version "v"/);
    expect(reason({ v: 2, kind: 'persist.update' })).toMatch(/^ADM_VERSION_UNSUPPORTED/);
    expect(reason({ v: 1, kind: 'pony' })).toMatch(/^ADM_BAD_REQUEST: .*"kind" must be one of persist.update/);
    expect(reason({ v: 1, kind: 'toString' })).toMatch(/^ADM_BAD_REQUEST/);
  });

  it('refuses fields of the wrong shape or unknown to this version, naming them', () => {
    expect(reason({ v: 1, kind: 'persist.update', modes: { retain: 'Sometimes' } })).toContain('param "modes"');
    expect(reason({ v: 1, kind: 'persist.update', modes: [] })).toContain('param "modes" must be an object');
    expect(reason({ v: 1, kind: 'persist.update', retainTopics: 'a/#' })).toContain('param "retainTopics"');
    expect(reason({ v: 1, kind: 'persist.update', disableDynamic: ['nope'] })).toContain('param "disableDynamic"');
    expect(reason({ v: 1, kind: 'persist.update', stateStoreResources: [{ keys: ['k'], keyType: 'Hex' }] })).toContain('key types');
    expect(reason({ v: 1, kind: 'persist.update', dynamicSettings: { userPropertyKey: 1 } })).toContain('userPropertyKey');
    expect(reason({ v: 1, kind: 'persist.update', persistMode: ['retain=All'] })).toContain('unknown param "persistMode"');
    expect(reason({ v: 1, kind: 'limits.set', limits: { maxTopicLevels: '9' } })).toContain('must be a number');
    expect(reason({ v: 1, kind: 'limits.set', limits: { nope: 1 } })).toContain('unknown param "nope"');
    expect(reason({ v: 1, kind: 'log-level.set' })).toContain('param "level"');
    expect(reason({ v: 1, kind: 'resource.apply', resource: 'listener', properties: {} })).toContain('param "name"');
    expect(reason({ v: 1, kind: 'resource.delete', resource: 'pony', name: 'x' })).toContain('param "resource"');
  });

  it('accepts each kind the CLI sends', () => {
    const requests: ChangeRequest[] = [
      persistUpdateRequest({ persistMode: ['retain=Custom'], retainTopics: ['t/#'] }),
      logLevelRequest('warn'),
      limitsSetRequest({ maxConnectionsPerAddress: '3' }),
      resourceApplyRequest('authentication', 'local', { authenticationMethods: [] }, 'f.json'),
      resourceDeleteRequest('listener', 'two'),
      { v: 1, kind: 'broker.update', properties: {} },
    ];
    for (const request of requests) expect(parseChangeRequest(JSON.parse(JSON.stringify(request)))).toEqual(request);
  });
});

describe('parseRuntimeState', () => {
  it('types a stored state once, refusing a malformed one', () => {
    expect(() => parseRuntimeState([], 'r.json')).toThrow('expected a JSON object');
    expect(() => parseRuntimeState({ listeners: { a: 1 } }, 'r.json')).toThrow('listeners must map names to objects');
    expect(() => parseRuntimeState({ broker: { diagnostics: 'x' } }, 'r.json')).toThrow('broker.diagnostics must be an object');
    expect(() => parseRuntimeState({ limits: { maxTopicLevels: -1 } }, 'r.json')).toThrow('limits.maxTopicLevels must be a whole number');
    expect(codeOf(() => parseRuntimeState({ listeners: { a: { ports: 'x' } } }, 'r.json'))).toBe('CFG_SCHEMA_INVALID');
    expect(parseRuntimeState({}, 'r.json')).toEqual({ version: 1, host: '127.0.0.1', broker: {}, listeners: {}, authentications: {}, authorizations: {} });
  });
});
