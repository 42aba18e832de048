import { readFile, stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callAdmin, sendLine } from '../../../src/admin/client.js';
import { MAX_REQUEST_BYTES } from '../../../src/admin/wire.js';
import type { InstancePaths } from '../../../src/instance/layout.js';
import type { RunningBroker } from '../../../src/server/start.js';
import { silentLogger } from '../../../src/shared/log.js';
import { OpsError } from '../../../src/shared/errors.js';
import { startStoredInstance, type StoredInstance } from '../../helpers/stored-instance.js';

let instance: StoredInstance | undefined;
let paths: InstancePaths;
let running: RunningBroker;

beforeAll(async () => {
  instance = await startStoredInstance('adm', { default: { ports: [{ port: 0 }] } }, { ...silentLogger, level: 'info' });
  ({ paths, running } = instance);
});
afterAll(async () => {
  await instance?.close();
});

const raw = async (line: string) => JSON.parse(await sendLine(paths.socket, line)) as { v: number; id: unknown; result?: unknown; error?: { code: string; message: string } };
const errorCode = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    if (err instanceof OpsError) return err.code;
    throw err;
  }
  return 'no error';
};

describe('admin socket', () => {
  it('is a 0600 unix socket answering ping with the protocol version', async () => {
    expect((await stat(paths.socket)).mode & 0o777).toBe(0o600);
    expect(await callAdmin(paths.socket, 'ping')).toEqual({ pong: true, v: 1 });
  });

  it('answers malformed, unknown, wrongly versioned and ill-typed requests with coded errors', async () => {
    expect((await raw('this is not json\n')).error?.code).toBe('ADM_BAD_REQUEST');
    expect((await raw('[1,2]\n')).error?.code).toBe('ADM_BAD_REQUEST');
    expect(await raw('{"v":1,"id":7,"method":"nope"}\n')).toMatchObject({ id: 7, error: { code: 'ADM_UNKNOWN_METHOD' } });
    expect(await raw('{"v":2,"id":"x","method":"ping"}\n')).toMatchObject({ id: 'x', error: { code: 'ADM_VERSION_UNSUPPORTED' } });
    expect(await raw('{"v":1,"id":1,"method":"resource.get","params":{"kind":"pony"}}\n')).toMatchObject({ error: { code: 'ADM_BAD_REQUEST' } });
    expect(await raw('{"v":1,"id":1,"method":"runtime.change","params":{"kind":"persist.update","persistMode":"retain=All"}}\n')).toMatchObject({ error: { code: 'ADM_BAD_REQUEST' } });
    expect(await raw('{"v":1,"id":1,"method":"__proto__"}\n')).toMatchObject({ error: { code: 'ADM_UNKNOWN_METHOD' } });
  });

  it('answers malformed, unknown-kind and wrongly versioned change requests with coded errors, changing nothing', async () => {
    const before = await readFile(paths.runtime, 'utf8');
    const change = (params: string) => raw(`{"v":1,"id":1,"method":"runtime.change","params":${params}}\n`);
    expect((await change('"persist.update"')).error?.code).toBe('ADM_BAD_REQUEST');
    expect((await change('{"kind":"persist.update"}')).error?.message).toContain('version "v"');
    expect(await change('{"v":2,"kind":"persist.update"}')).toMatchObject({ error: { code: 'ADM_VERSION_UNSUPPORTED' } });
    expect((await change('{"v":1,"kind":"pony"}')).error?.message).toContain('"kind" must be one of');
    expect((await change('{"v":1,"kind":"__proto__"}')).error?.code).toBe('ADM_BAD_REQUEST');
    expect((await change('{"v":1,"kind":"persist.update","modes":{"retain":"Sometimes"}}')).error?.message).toContain('param "modes"');
    expect((await change('{"v":1,"kind":"persist.update","modes":{"__proto__":"All"}}')).error?.code).toBe('ADM_BAD_REQUEST');
    expect((await change('{"v":1,"kind":"persist.update","stateStoreResources":[{"keys":"k","keyType":"String"}]}')).error?.code).toBe('ADM_BAD_REQUEST');
    expect((await change('{"v":1,"kind":"persist.update","persistMode":["retain=All"]}')).error?.message).toContain('unknown param "persistMode"');
    expect((await change('{"v":1,"kind":"limits.set","limits":{"maxTopicLevels":"9"}}')).error?.code).toBe('ADM_BAD_REQUEST');
    expect((await change('{"v":1,"kind":"limits.set","limits":{"maxTopicLevels":0}}')).error?.code).toBe('CFG_FLAG_INVALID');
    expect((await change('{"v":1,"kind":"resource.delete","resource":"pony","name":"x"}')).error?.code).toBe('ADM_BAD_REQUEST');
    expect((await change('{"v":1,"kind":"resource.apply","resource":"listener","name":"ok-name","properties":{"ports":"all"}}')).error?.code).toBe('CFG_SCHEMA_INVALID');
    expect(await readFile(paths.runtime, 'utf8')).toBe(before);
    expect(await callAdmin(paths.socket, 'ping')).toEqual({ pong: true, v: 1 });
  });

  it('applies a typed persist update live and returns the runtime state after it', async () => {
    const before = running.runtime.policy.version;
    const reply = (await callAdmin(paths.socket, 'runtime.change', { v: 1, kind: 'persist.update', modes: { subscriberQueue: 'None' } })) as {
      state: { broker: { persistence?: Record<string, unknown> } };
    };
    expect(reply.state.broker.persistence?.['subscriberQueue']).toEqual({ mode: 'None' });
    expect(running.runtime.policy.version).toBe(before + 1);
    expect(JSON.parse(await readFile(paths.runtime, 'utf8'))).toMatchObject({ broker: { persistence: { subscriberQueue: { mode: 'None' } } } });
  });

  it('refuses a request larger than the limit and keeps serving', async () => {
    const reply = await raw(`{"v":1,"id":1,"method":"ping","params":"${'x'.repeat(MAX_REQUEST_BYTES + 10)}"}\n`);
    expect(reply.error?.code).toBe('ADM_REQUEST_TOO_LARGE');
    expect(await callAdmin(paths.socket, 'ping')).toEqual({ pong: true, v: 1 });
  });

  it('answers several requests on one connection in order', async () => {
    const { connect } = await import('node:net');
    const lines = await new Promise<string[]>((resolve, reject) => {
      const socket = connect(paths.socket);
      let buffer = '';
      socket.setEncoding('utf8');
      socket.on('error', reject);
      socket.on('data', (chunk: string) => {
        buffer += chunk;
        const got = buffer.split('\n').filter(Boolean);
        if (got.length === 3) {
          socket.destroy();
          resolve(got);
        }
      });
      socket.write('{"v":1,"id":1,"method":"ping"}\n{"v":1,"id":2,"method":"bad"}\n{"v":1,"id":3,"method":"status"}\n');
    });
    expect(lines.map((l) => (JSON.parse(l) as { id: number }).id)).toEqual([1, 2, 3]);
  });

  it('refuses any change of a deployment-time setting, naming it', async () => {
    const err = await callAdmin(paths.socket, 'runtime.change', { v: 1, kind: 'broker.update', properties: { memoryProfile: 'High', persistence: { maxSize: '1Gi' } } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpsError);
    expect((err as OpsError).code).toBe('CFG_SETTING_LOCKED');
    expect((err as OpsError).message).toContain("'memoryProfile'");
    const off = await callAdmin(paths.socket, 'runtime.change', { v: 1, kind: 'broker.update', properties: { memoryProfile: 'Low' } }).catch((e: unknown) => e);
    expect((off as OpsError).message).toContain('persistence cannot be turned off once enabled');
  });

  it('accepts runtime changes through broker.update and applies the policy live', async () => {
    const before = running.runtime.policy.version;
    await callAdmin(paths.socket, 'runtime.change', {
      v: 1,
      kind: 'broker.update',
      properties: { memoryProfile: 'Low', persistence: { maxSize: '1Gi', retain: { mode: 'None' } }, diagnostics: { logs: { level: 'warn' } } },
    });
    expect(running.runtime.policy.version).toBe(before + 1);
    expect(running.runtime.policy.policy.retain.mode).toBe('None');
    expect(await errorCode(callAdmin(paths.socket, 'runtime.change', { v: 1, kind: 'log-level.set', level: 'loud' }))).toBe('CFG_SCHEMA_INVALID');
  });

  it('serves stats with the engine figures', async () => {
    const stats = (await callAdmin(paths.socket, 'stats')) as { clients: { connected: number }; disk: { usedBytes: number } };
    expect(stats.clients.connected).toBe(0);
    expect(stats.disk.usedBytes).toBeGreaterThanOrEqual(0);
  });

  it('applies listeners live, all or nothing', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const before = await readFile(paths.runtime, 'utf8');
      const code = await errorCode(
        callAdmin(paths.socket, 'runtime.change', { v: 1, kind: 'resource.apply', resource: 'listener', name: 'two', properties: { ports: [{ port: 0 }, { port: taken }] } }),
      );
      expect(code).toBe('BRK_LISTEN_FAILED');
      expect(await readFile(paths.runtime, 'utf8')).toBe(before);
      expect(running.runtime.listeners.openPorts().map((p) => p.listener)).toEqual(['default']);
      await callAdmin(paths.socket, 'runtime.change', { v: 1, kind: 'resource.apply', resource: 'listener', name: 'two', properties: { ports: [{ port: 0 }] } });
      expect(running.runtime.listeners.openPorts().map((p) => p.listener).sort()).toEqual(['default', 'two']);
      await callAdmin(paths.socket, 'runtime.change', { v: 1, kind: 'resource.delete', resource: 'listener', name: 'two' });
      expect(await errorCode(callAdmin(paths.socket, 'runtime.change', { v: 1, kind: 'resource.delete', resource: 'listener', name: 'two' }))).toBe('CFG_RESOURCE_NOT_FOUND');
    } finally {
      blocker.close();
    }
  });
});
