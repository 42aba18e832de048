import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeOpsHome, type OpsHome } from '../helpers/cli-ops.js';

interface Resource {
  properties: { persistence?: Record<string, unknown> };
}
interface Status {
  pid: number;
  policyVersion: number;
}
interface PersistShow {
  live: boolean;
  persistence: Record<string, unknown> | null;
  policyVersion?: number;
  policy?: { retain: { mode: string; match: string[] } };
}

let h: OpsHome;
beforeAll(async () => {
  h = await makeOpsHome();
  await Promise.all([
    h.json('create', '--instance', 'durable', '--port', '0', '--secure-port', '0', '--persist-max-size', '1Gi'),
    h.json('create', '--instance', 'volatile', '--port', '0', '--secure-port', '0'),
  ]);
});
afterAll(async () => {
  await h.cleanup();
});

const update = (...args: string[]) => h.ops('broker', 'persist', 'update', '--instance', 'durable', ...args);

describe('ops broker persist update', () => {
  it('changes the live policy without restarting the broker', async () => {
    const before = await h.json<Status>('broker', 'status', '--instance', 'durable');
    const r = await update('--persist-mode', 'retain=Custom', '--retain-topics', 'sensor1', 'factory/#', 'groundfloor/+/temperature');
    expect(r.exitCode).toBe(0);
    const printed = JSON.parse(r.stdout) as Resource;
    expect(printed.properties.persistence?.['retain']).toEqual({
      mode: 'Custom',
      retainSettings: { topics: ['sensor1', 'factory/#', 'groundfloor/+/temperature'] },
    });
    const after = await h.json<Status>('broker', 'status', '--instance', 'durable');
    expect(after.pid).toBe(before.pid);
    expect(after.policyVersion).toBe(before.policyVersion + 1);
    const show = await h.json<PersistShow>('broker', 'persist', 'show', '--instance', 'durable');
    expect(show.live).toBe(true);
    expect(show.policy?.retain).toMatchObject({ mode: 'Custom', match: ['sensor1', 'factory/#', 'groundfloor/+/temperature'] });
  });

  it('groups repeated state-store key flags and disables dynamic persistence', async () => {
    const r = await update(
      '--persist-mode', 'retain=Custom', 'stateStore=Custom', 'subscriberQueue=All',
      '--retain-topics', 'alerts/#', 'diagnostics/#',
      '--state-store-str-keys', 'user:admin', 'session:active',
      '--state-store-str-keys', 'config:database', 'config:security',
      '--state-store-glob-keys', 'logs/*', 'backups/*',
      '--disable-dynamic', 'stateStore',
    );
    expect(r.exitCode).toBe(0);
    const p = (JSON.parse(r.stdout) as Resource).properties.persistence;
    expect(p?.['stateStore']).toEqual({
      mode: 'Custom',
      stateStoreSettings: {
        stateStoreResources: [
          { keys: ['user:admin', 'session:active'], keyType: 'String' },
          { keys: ['config:database', 'config:security'], keyType: 'String' },
          { keys: ['logs/*', 'backups/*'], keyType: 'Pattern' },
        ],
        dynamic: { mode: 'Disabled' },
      },
    });
    expect(p?.['subscriberQueue']).toEqual({ mode: 'All' });
  });

  it('sets the dynamic user property with --user-key/--user-value', async () => {
    const r = await update('--persist-mode', 'subscriberQueue=Custom', '--subscriber-client-ids', 'factory-client-*', 'sensor-gateway-01', '--user-key', 'disk-persistence', '--user-value', 'disk');
    expect(r.exitCode).toBe(0);
    expect((JSON.parse(r.stdout) as Resource).properties.persistence?.['dynamicSettings']).toEqual({ userPropertyKey: 'disk-persistence', userPropertyValue: 'disk' });
  });

  it.each([
    [['--persist-mode', 'Retain=All'], "Invalid persistence mode key: Retain. Valid keys are ['stateStore', 'retain', 'subscriberQueue']."],
    [['--persist-mode', 'retain=Some'], "Invalid persistence mode value: Some. Valid values are ['None', 'All', 'Custom']."],
    [['--persist-mode', 'retain=All', '--retain-topics', 'a'], "To set retain topics for persistence, retain mode must be set to 'Custom'."],
    [['--persist-mode', 'retain=All', '--disable-dynamic', 'retain'], "To disable dynamic persistence for retain, retain mode must be set to 'Custom'."],
    [['--disable-dynamic', 'wrongKey'], "Invalid disable dynamic key: wrongKey. Valid keys are ['stateStore', 'retain', 'subscriberQueue']."],
    [['--user-key', 'k'], 'Both --user-key and --user-value must be set or both must be unset.'],
  ])('refuses %j with the AIO message and changes nothing', async (args, message) => {
    const before = await h.json<PersistShow>('broker', 'persist', 'show', '--instance', 'durable');
    const r = await update(...args);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`error: ${message}`);
    const after = await h.json<PersistShow>('broker', 'persist', 'show', '--instance', 'durable');
    expect(after.policyVersion).toBe(before.policyVersion);
  });

  it('keeps the policy across a restart', async () => {
    const before = await h.json<PersistShow>('broker', 'persist', 'show', '--instance', 'durable');
    expect((await h.ops('broker', 'stop', '--instance', 'durable')).exitCode).toBe(0);
    const stopped = await h.json<PersistShow>('broker', 'persist', 'show', '--instance', 'durable');
    expect(stopped).toMatchObject({ live: false, persistence: before.persistence });
    await h.json('broker', 'start', '--instance', 'durable');
    const after = await h.json<PersistShow>('broker', 'persist', 'show', '--instance', 'durable');
    expect(after).toMatchObject({ live: true, persistence: before.persistence });
  });

  it('refuses an instance created without persistence', async () => {
    const r = await h.ops('broker', 'persist', 'update', '--instance', 'volatile', '--persist-mode', 'retain=All');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(
      "The broker is not enabled for disk persistence which must be configured at create time.\nUse 'az iot ops create' with '--persist-max-size' to enable.",
    );
  });
});
