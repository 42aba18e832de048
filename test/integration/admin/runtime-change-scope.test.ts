/**
 * A running broker recomputes only what a change touches: a persist update, a log level or limits
 * change leaves the listener ports and their compiled security alone; a resource change recompiles
 * only the ports that name it; a listener change opens its port. Observed through the warning the
 * security compile logs for a port whose authentication does not exist.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callAdmin } from '../../../src/admin/client.js';
import type { InstancePaths } from '../../../src/instance/layout.js';
import type { RunningBroker } from '../../../src/server/start.js';
import { recordingLogger } from '../../helpers/recording-logger.js';
import { startStoredInstance, type StoredInstance } from '../../helpers/stored-instance.js';

let instance: StoredInstance | undefined;
let paths: InstancePaths;
let running: RunningBroker;
const logger = { ...recordingLogger(), level: 'info' };

beforeAll(async () => {
  instance = await startStoredInstance('scope', { default: { ports: [{ port: 0 }] }, guarded: { ports: [{ port: 0, authenticationRef: 'nobody' }] } }, logger);
  ({ paths, running } = instance);
});
afterAll(async () => {
  await instance?.close();
});

const compiles = (): number => logger.warnings.filter((w) => w.message.includes("authentication 'nobody' does not exist")).length;
const change = (request: Record<string, unknown>) => callAdmin(paths.socket, 'runtime.change', { v: 1, ...request });

describe('runtime.change scope', () => {
  it('leaves ports and their security alone for persist, log level and limits changes; recompiles only the ports a resource change concerns; opens a new listener port', async () => {
    const ports = running.runtime.listeners.openPorts();
    const compiled = compiles();
    expect(compiled).toBe(1);
    await change({ kind: 'persist.update', modes: { retain: 'None' } });
    await change({ kind: 'log-level.set', level: 'debug' });
    await change({ kind: 'limits.set', limits: { maxTopicLevels: 9 } });
    expect(compiles()).toBe(compiled);
    expect(running.runtime.listeners.openPorts()).toEqual(ports);
    expect(running.runtime.policy.policy.retain.mode).toBe('None');
    await change({ kind: 'resource.apply', resource: 'authorization', name: 'rules', properties: { authorizationPolicies: { rules: [] } } });
    expect(compiles()).toBe(compiled); // no port names 'rules': nothing is recompiled
    expect(running.runtime.listeners.openPorts()).toEqual(ports);
    await change({ kind: 'resource.apply', resource: 'listener', name: 'guarded', properties: { ports: [{ port: 0, authenticationRef: 'nobody', authorizationRef: 'rules' }] } });
    expect(compiles()).toBe(compiled + 1); // the port now names 'rules': it is recompiled
    await change({ kind: 'resource.apply', resource: 'listener', name: 'extra', properties: { ports: [{ port: 0 }] } });
    expect(compiles()).toBe(compiled + 1); // a new open port; 'guarded' keeps its compiled security
    expect(running.runtime.listeners.openPorts().map((p) => p.listener).sort()).toEqual(['default', 'extra', 'guarded']);
  });
});
