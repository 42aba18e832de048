import { describe, expect, it } from 'vitest';
import { buildCreateProperties } from '../../../src/config/create-settings.js';
import { applyPersistUpdate, buildCreatePersistence, parseKvp, type PersistUpdateArgs } from '../../../src/config/persist-flags.js';
import type { Persistence } from '../../../src/config/types.js';
import { findIssues } from '../../../src/config/validate.js';

const created = (): Persistence => buildCreatePersistence({ maxSize: '10Gi' }) as Persistence;
const update = (args: PersistUpdateArgs, from: Persistence = created()) => applyPersistUpdate(from, args);
const KEYS = "['stateStore', 'retain', 'subscriberQueue']";

describe('create-time persistence (az-cli-and-broker-config.md §5.6)', () => {
  it('with only a max size makes all three components Custom with dynamic Enabled, in the CLI key order', () => {
    const p = created();
    expect(Object.keys(p)).toEqual(['maxSize', 'stateStore', 'retain', 'subscriberQueue']);
    expect(p.retain).toEqual({ mode: 'Custom', retainSettings: { dynamic: { mode: 'Enabled' } } });
    expect(p.stateStore).toEqual({ mode: 'Custom', stateStoreSettings: { dynamic: { mode: 'Enabled' } } });
    expect(p.subscriberQueue).toEqual({ mode: 'Custom', subscriberQueueSettings: { dynamic: { mode: 'Enabled' } } });
  });

  it('applies --persist-pvc-sc and --persist-mode', () => {
    const p = buildCreatePersistence({ maxSize: '10Gi', pvcStorageClass: 'mysc', persistMode: ['retain=All', 'stateStore=None'] });
    expect(p).toMatchObject({ retain: { mode: 'All' }, stateStore: { mode: 'None' } });
    expect(p?.persistentVolumeClaimSpec).toEqual({ storageClassName: 'mysc', accessModes: ['ReadWriteOncePod'] });
  });

  it('needs a max size for the other persist flags', () => {
    const message = 'Provide a persist max size value to enable and customize broker disk persistence.';
    expect(() => buildCreatePersistence({ pvcStorageClass: 'x' })).toThrow(message);
    expect(() => buildCreatePersistence({ persistMode: ['retain=All'] })).toThrow(message);
    expect(buildCreatePersistence({})).toBeUndefined();
  });

  it('range-checks the cardinality flags with one line per key in the CLI order', () => {
    expect(() => buildCreateProperties({ backendWorkers: 17, frontendReplicas: 0, backendRedundancyFactor: 1 })).toThrow(
      'frontendReplicas value range min:1 max:16\nbackendRedundancyFactor value range min:2 max:5\nbackendWorkers value range min:1 max:16',
    );
  });

  it('normalizes the memory profile case-insensitively and builds a valid Broker', () => {
    const props = buildCreateProperties({ memoryProfile: 'tiny', maxSize: '1Gi' });
    expect(props.memoryProfile).toBe('Tiny');
    expect(findIssues('broker', props)).toEqual([]);
    expect(() => buildCreateProperties({ memoryProfile: 'huge' })).toThrow("invalid choice: 'huge'");
  });
});

describe('persist update (az-cli-and-broker-config.md §5)', () => {
  it('refuses a broker without persistence, making no change', () => {
    const message =
      "The broker is not enabled for disk persistence which must be configured at create time.\nUse 'az iot ops create' with '--persist-max-size' to enable.";
    expect(() => applyPersistUpdate(undefined, { persistMode: ['retain=All'] })).toThrow(message);
    expect(() => applyPersistUpdate({} as Persistence, {})).toThrow(message);
  });

  it('validates keys then values, case-sensitively', () => {
    expect(() => update({ persistMode: ['Retain=All'] })).toThrow(`Invalid persistence mode key: Retain. Valid keys are ${KEYS}.`);
    expect(() => update({ persistMode: ['retain=all'] })).toThrow(
      "Invalid persistence mode value: all. Valid values are ['None', 'All', 'Custom'].",
    );
    expect(() => update({ persistMode: ['retain'] })).toThrow("Invalid persistence mode value: None. Valid values are ['None', 'All', 'Custom'].");
  });

  it('resets a component, dropping its old settings, and leaves others alone', () => {
    const before = update({ persistMode: ['retain=Custom'], retainTopics: ['a/#'] });
    const p = update({ persistMode: ['retain=All', 'stateStore=None'] }, before);
    expect(p.retain).toEqual({ mode: 'All' });
    expect(p.stateStore).toEqual({ mode: 'None' });
    expect(p.subscriberQueue).toEqual(before.subscriberQueue);
    expect(p.maxSize).toBe('10Gi');
  });

  it('Custom without topics keeps dynamic Enabled; with topics the settings are replaced', () => {
    expect(update({ persistMode: ['subscriberQueue=Custom'] }).subscriberQueue).toEqual({
      mode: 'Custom',
      subscriberQueueSettings: { dynamic: { mode: 'Enabled' } },
    });
    expect(update({ persistMode: ['retain=Custom'], retainTopics: ['t1', 't2'] }).retain).toEqual({
      mode: 'Custom',
      retainSettings: { topics: ['t1', 't2'] },
    });
  });

  it('accepts topics alone when the stored mode is already Custom', () => {
    const p = update({ retainTopics: ['x/+'] });
    expect(p.retain).toEqual({ mode: 'Custom', retainSettings: { topics: ['x/+'] } });
  });

  it('guards topics, client ids and keys with the exact messages', () => {
    const none = update({ persistMode: ['retain=None', 'subscriberQueue=All', 'stateStore=None'] });
    expect(() => update({ retainTopics: ['a'] }, none)).toThrow("To set retain topics for persistence, retain mode must be set to 'Custom'.");
    expect(() => update({ subscriberClientIds: ['a'] }, none)).toThrow(
      "To set subscriber queue client Ids for persistence, subscriberQueue mode must be set to 'Custom'.",
    );
    for (const flag of ['stateStoreStrKeys', 'stateStoreGlobKeys', 'stateStoreBinKeys'] as const) {
      expect(() => update({ [flag]: [['k']] }, none)).toThrow("To set state store keys for persistence, stateStore mode must be set to 'Custom'.");
    }
  });

  it('treats a missing component as not Custom', () => {
    expect(() => applyPersistUpdate({ maxSize: '1Gi' }, { retainTopics: ['a'] })).toThrow('retain mode must be set');
    expect(() => applyPersistUpdate({ maxSize: '1Gi' }, { disableDynamic: ['retain'] })).toThrow(
      "To disable dynamic persistence for retain, retain mode must be set to 'Custom'.",
    );
  });

  it('groups state-store keys: String groups, then Pattern, then Binary, verbatim', () => {
    const p = update({
      persistMode: ['stateStore=Custom'],
      stateStoreStrKeys: [['key1'], ['key2']],
      stateStoreGlobKeys: [['pattern*']],
      stateStoreBinKeys: [['binkey1']],
    });
    expect(p.stateStore).toEqual({
      mode: 'Custom',
      stateStoreSettings: {
        stateStoreResources: [
          { keys: ['key1'], keyType: 'String' },
          { keys: ['key2'], keyType: 'String' },
          { keys: ['pattern*'], keyType: 'Pattern' },
          { keys: ['binkey1'], keyType: 'Binary' },
        ],
      },
    });
  });

  it('disables dynamic persistence, merged into the current settings', () => {
    const p = update({ persistMode: ['retain=Custom', 'stateStore=Custom'], disableDynamic: ['retain', 'stateStore'] });
    expect(p.retain).toEqual({ mode: 'Custom', retainSettings: { dynamic: { mode: 'Disabled' } } });
    expect(p.stateStore).toEqual({ mode: 'Custom', stateStoreSettings: { dynamic: { mode: 'Disabled' } } });
    const t = update({ persistMode: ['retain=Custom'], retainTopics: ['test/*'], disableDynamic: ['retain'] });
    expect(t.retain).toEqual({ mode: 'Custom', retainSettings: { topics: ['test/*'], dynamic: { mode: 'Disabled' } } });
  });

  it('checks disable-dynamic keys and modes with the exact messages, changing nothing on error', () => {
    expect(() => update({ persistMode: ['retain=All'], disableDynamic: ['retain'] })).toThrow(
      "To disable dynamic persistence for retain, retain mode must be set to 'Custom'.",
    );
    const before = created();
    expect(() => update({ persistMode: ['retain=Custom', 'stateStore=Custom'], disableDynamic: ['retain', 'wrongKey'] }, before)).toThrow(
      `Invalid disable dynamic key: wrongKey. Valid keys are ${KEYS}.`,
    );
    expect(before).toEqual(created());
  });

  it('sets the dynamic user property only with both --user-key and --user-value', () => {
    const message = 'Both --user-key and --user-value must be set or both must be unset.';
    expect(() => update({ userKey: 'k' })).toThrow(message);
    expect(() => update({ userValue: 'v' })).toThrow(message);
    const p = update({ persistMode: ['subscriberQueue=Custom'], subscriberClientIds: ['factory-client-*', 'sensor-gateway-01'], userKey: 'disk-persistence', userValue: 'disk' });
    expect(p.dynamicSettings).toEqual({ userPropertyKey: 'disk-persistence', userPropertyValue: 'disk' });
    expect(p.subscriberQueue).toEqual({ mode: 'Custom', subscriberQueueSettings: { subscriberClientIds: ['factory-client-*', 'sensor-gateway-01'] } });
    expect(update({}).dynamicSettings).toBeUndefined();
  });

  it('always produces a document the Broker schema accepts', () => {
    const p = update({
      persistMode: ['retain=Custom', 'stateStore=Custom', 'subscriberQueue=All'],
      retainTopics: ['alerts/#', 'diagnostics/#'],
      stateStoreStrKeys: [['user:admin', 'session:active'], ['config:database', 'config:security']],
      stateStoreGlobKeys: [['logs/*', 'backups/*']],
      disableDynamic: ['stateStore'],
    });
    expect(findIssues('broker', { persistence: p })).toEqual([]);
  });
});

describe('parseKvp', () => {
  it('splits on the first = and lets later keys win in first-seen order', () => {
    expect([...parseKvp(['a=1', 'b=x=y', 'c', 'a=2'])]).toEqual([
      ['a', '2'],
      ['b', 'x=y'],
      ['c', null],
    ]);
  });
});
