import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, eventually, makeOpsHome, OPS_BIN, portOf, type OpsHome } from '../helpers/cli-ops.js';
import { connectClient } from '../helpers/cli-mqtt.js';

interface Status {
  running: boolean;
  pid?: number;
  ports?: Array<{ listener: string; port: number }>;
}

let h: OpsHome;
beforeAll(async () => {
  h = await makeOpsHome();
  const config = join(h.home, 'broker.json');
  await writeFile(config, JSON.stringify({ diagnostics: { metrics: { prometheusPort: 0 } } }));
  await h.json('create', '--instance', 'fg', '--port', '0', '--secure-port', '0', '--broker-config-file', config);
  expect((await h.ops('broker', 'stop', '--instance', 'fg')).exitCode).toBe(0);
});
afterAll(async () => {
  await h.cleanup();
});

describe('ops broker run', () => {
  it('runs in the foreground, logs JSON to stdout, refuses a second copy and stops on SIGTERM', async () => {
    const child = execa(process.execPath, [OPS_BIN, 'broker', 'run', '--instance', 'fg'], {
      env: { OPS_HOME: h.home, NO_COLOR: '1' },
      reject: false,
      stdin: 'ignore',
      timeout: 30_000,
    });
    try {
      const status = await eventually(async () => {
        const s = await h.json<Status>('broker', 'status', '--instance', 'fg');
        return s.running && s.ports ? s : undefined;
      }, 10_000);
      expect(status).toBeDefined();
      const pid = status?.pid ?? 0;
      await (await connectClient(portOf({ ports: status?.ports ?? [] }))).endAsync();
      const second = await h.ops('broker', 'run', '--instance', 'fg');
      expect(second.exitCode).toBe(5);
      expect(second.stderr).toContain('is already running');
      child.kill('SIGTERM');
      const result = await child;
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain('"msg":"ready"');
      expect(result.stdout).toContain('"msg":"stopped"');
      expect(alive(pid)).toBe(false);
      expect((await h.json<Status>('broker', 'status', '--instance', 'fg')).running).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('stores changes made while the broker is stopped and applies them at the next start', async () => {
    const extra = join(h.home, 'extra.json');
    await writeFile(extra, JSON.stringify({ ports: [{ port: 0 }] }));
    const applied = await h.ops('broker', 'listener', 'apply', '--instance', 'fg', '--name', 'extra', '--config-file', extra);
    expect(applied.exitCode).toBe(0);
    expect(applied.stderr).toContain('takes effect at the next start');
    expect((await h.ops('broker', 'log-level', 'set', 'error', '--instance', 'fg')).exitCode).toBe(0);
    const started = await h.json<Required<Status>>('broker', 'start', '--instance', 'fg');
    expect(started.ports.map((p) => p.listener).sort()).toEqual(['default', 'default-insecure', 'extra']);
    expect((await h.json<{ logLevel: string }>('broker', 'status', '--instance', 'fg')).logLevel).toBe('error');
  });
});
