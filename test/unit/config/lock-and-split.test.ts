import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeUpdateFromProperties } from '../../../src/config/resources.js';
import { deploymentSettings, joinBrokerProperties, lockedSettingChanges, runtimeSettings } from '../../../src/config/split.js';
import type { BrokerProperties } from '../../../src/config/types.js';
import { lockChecksum, readDeploymentLock, writeDeploymentLock } from '../../../src/instance/deployment-lock.js';

const advanced = { clients: { maxKeepAliveSeconds: 60 } };
const props: BrokerProperties = {
  memoryProfile: 'Low',
  advanced,
  diagnostics: { logs: { level: 'debug' } },
  persistence: { maxSize: '1Gi', encryption: { mode: 'Disabled' }, retain: { mode: 'All' }, dynamicSettings: { userPropertyKey: 'k', userPropertyValue: 'v' } },
};

describe('deployment vs runtime settings', () => {
  it('splits and joins back to the same properties', () => {
    const d = deploymentSettings(props);
    const r = runtimeSettings(props);
    expect(d).toEqual({ memoryProfile: 'Low', advanced, persistence: { maxSize: '1Gi', encryption: { mode: 'Disabled' } } });
    expect(r).toEqual({ diagnostics: props.diagnostics, persistence: { retain: { mode: 'All' }, dynamicSettings: { userPropertyKey: 'k', userPropertyValue: 'v' } } });
    expect(joinBrokerProperties(d, r)).toEqual(props);
  });

  it('names every changed locked setting, ignoring key order', () => {
    const d = deploymentSettings(props);
    expect(lockedSettingChanges(d, deploymentSettings({ ...props }))).toEqual([]);
    const changed = lockedSettingChanges(d, deploymentSettings({ ...props, memoryProfile: 'High', persistence: { maxSize: '2Gi' } }));
    expect(changed.map((c) => c.setting)).toEqual(['memoryProfile', 'persistence.maxSize', 'persistence.encryption']);
    expect(lockedSettingChanges(d, deploymentSettings({ memoryProfile: 'Low', advanced }))[0]).toEqual({
      setting: 'persistence',
      reason: 'persistence cannot be turned off once enabled',
    });
    expect(lockedSettingChanges(deploymentSettings({}), deploymentSettings({ persistence: { maxSize: '1Gi' } }))[0]?.setting).toBe('persistence.maxSize');
  });

  it('accepts runtime-only changes of a full document and refuses locked ones', () => {
    const d = deploymentSettings(props);
    expect(runtimeUpdateFromProperties(d, { ...props, diagnostics: { logs: { level: 'error' } } }, 'req').diagnostics).toEqual({ logs: { level: 'error' } });
    expect(() => runtimeUpdateFromProperties(d, { ...props, memoryProfile: 'Tiny' }, 'req')).toThrow("'memoryProfile' are locked at create");
  });
});

describe('deployment lock', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ops-lock-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes once, read-only, with a checksum independent of key order', async () => {
    const path = join(dir, 'deployment.json');
    const lock = await writeDeploymentLock(path, { b: 1, a: { y: 2, x: 1 } });
    expect(lock.checksum).toBe(lockChecksum({ a: { x: 1, y: 2 }, b: 1 }));
    expect(await readDeploymentLock(path)).toEqual(lock);
    await expect(writeDeploymentLock(path, {})).rejects.toThrow();
    expect((await stat(path)).mode & 0o777).toBe(0o444);
  });

  it('refuses a hand-edited lock', async () => {
    const path = join(dir, 'edited.json');
    await writeDeploymentLock(path, { memoryProfile: 'Low' });
    await chmod(path, 0o644);
    await writeFile(path, (await readFile(path, 'utf8')).replace('Low', 'High'));
    await expect(readDeploymentLock(path)).rejects.toMatchObject({ code: 'INST_LOCK_TAMPERED' });
    await writeFile(path, '{"settings": 1}');
    await expect(readDeploymentLock(path)).rejects.toMatchObject({ code: 'INST_LOCK_TAMPERED' });
  });
});
