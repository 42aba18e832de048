import { describe, expect, it } from 'vitest';
import { parseRuntimeState, type RuntimeState } from '../../../src/config/runtime-state.js';
import { parseSharedRuntime, sameShared, sharedPartOf, touchesBetween, withShared } from '../../../src/config/shared-runtime.js';
import { OpsError } from '../../../src/shared/errors.js';

const rules = { authorizationPolicies: { rules: [{ principals: { usernames: ['alice'] }, brokerResources: [{ method: 'Connect' }] }] } };
const authn = { authenticationMethods: [{ method: 'Custom', customSettings: { endpoint: 'https://127.0.0.1:9/auth' } }] };
const state = (over: Record<string, unknown> = {}): RuntimeState =>
  parseRuntimeState(
    {
      version: 1,
      host: '127.0.0.1',
      broker: { diagnostics: { logs: { level: 'info' }, metrics: { prometheusPort: 9601 } }, persistence: { retain: { mode: 'All' } } },
      listeners: { plain: { ports: [{ port: 1883, authenticationRef: 'local', authorizationRef: 'rules' }] } },
      authentications: { local: authn },
      authorizations: { rules },
      ...over,
    },
    'runtime.json',
  );

describe('the cluster-wide part of the runtime state', () => {
  it('holds the Broker settings without the Prometheus port, authn, authz and limits; not the listeners or host', () => {
    const shared = sharedPartOf(state({ limits: { maxConnectionsPerAddress: 10 } }));
    expect(shared).toEqual({
      broker: { diagnostics: { logs: { level: 'info' } }, persistence: { retain: { mode: 'All' } } },
      authentications: { local: authn },
      authorizations: { rules },
      limits: { maxConnectionsPerAddress: 10 },
    });
    expect(Object.keys(shared)).not.toContain('listeners');
    expect(Object.keys(shared)).not.toContain('host');
  });

  it('replaces the shared part and keeps the frontend\'s own listeners, host and Prometheus port', () => {
    const mine = state({ host: '0.0.0.0', limits: { maxConnectionsPerAddress: 10 } });
    const theirs = sharedPartOf(state({
      broker: { diagnostics: { logs: { level: 'debug' }, metrics: { prometheusPort: 9999 } }, persistence: { retain: { mode: 'None' } } },
      authorizations: {},
    }));
    const next = withShared(mine, theirs);
    expect(next.host).toBe('0.0.0.0');
    expect(next.listeners).toEqual(mine.listeners);
    expect(next.broker).toEqual({ diagnostics: { logs: { level: 'debug' }, metrics: { prometheusPort: 9601 } }, persistence: { retain: { mode: 'None' } } });
    expect(next.authorizations).toEqual({});
    expect(next.limits).toBeUndefined(); // the cluster has none: this frontend's go too
    expect(sameShared(sharedPartOf(next), theirs)).toBe(true);
    expect([...touchesBetween(mine, next)].sort()).toEqual(['limits', 'logLevel', 'persistence', 'security']);
    expect(touchesBetween(next, withShared(next, theirs)).size).toBe(0);
  });

  it('a frontend whose diagnostics hold only its Prometheus port shares no diagnostics, and keeps its port', () => {
    const mine = state({ broker: { diagnostics: { metrics: { prometheusPort: 0 } } } });
    expect(sharedPartOf(mine).broker).toEqual({});
    const theirs = sharedPartOf(state({ broker: {} }));
    expect(sameShared(sharedPartOf(mine), theirs)).toBe(true);
    expect(withShared(mine, theirs).broker).toEqual({ diagnostics: { metrics: { prometheusPort: 0 } } });
  });

  it('reads a shared part from elsewhere with the runtime.json checks', () => {
    const shared = sharedPartOf(state());
    expect(parseSharedRuntime(JSON.parse(JSON.stringify(shared)), 'rev 1')).toEqual(shared);
    expect(() => parseSharedRuntime('x', 'rev 1')).toThrow(/must be an object/);
    expect(() => parseSharedRuntime({ authorizations: [] }, 'rev 1')).toThrow(/map names to objects/);
    expect(() => parseSharedRuntime({ limits: { maxConnectionsPerAddress: -1 } }, 'rev 1')).toThrow();
    let code = '';
    try {
      parseSharedRuntime({ authorizations: { rules: { authorizationPolicies: { rules: 'all' } } } }, 'rev 1');
    } catch (error) {
      code = error instanceof OpsError ? error.code : 'other';
    }
    expect(code).toBe('CFG_SCHEMA_INVALID');
  });
});
