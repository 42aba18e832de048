/**
 * `ops create --metrics-port`: each instance its own Prometheus port (0 = a free one), and a port
 * that is taken is said in create's output and in `ops broker status`, not silently dropped.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeOpsHome, type OpsHome } from '../helpers/cli-ops.js';

interface Status {
  running: boolean;
  metricsPort: number | null;
  metricsError?: string;
}

let h: OpsHome;
beforeAll(async () => {
  h = await makeOpsHome();
});
afterAll(async () => {
  await h.cleanup();
});

describe('ops create --metrics-port', () => {
  let taken = 0;

  it('0 picks a free port: a working endpoint whose port status -o json reports', async () => {
    const created = await h.json<Status>('create', '--instance', 'first', '--port', '0', '--secure-port', '0', '--metrics-port', '0');
    expect(created.metricsPort).toBeGreaterThan(0);
    taken = created.metricsPort ?? 0;
    const status = await h.json<Status>('broker', 'status', '--instance', 'first');
    expect(status).toMatchObject({ running: true, metricsPort: taken });
    expect(status.metricsError).toBeUndefined();
    const res = await fetch(`http://127.0.0.1:${taken}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('ops_broker_uptime_seconds');
  });

  it('a second instance on the taken port gets a clear note in create and in status', async () => {
    const created = await h.ops('create', '--instance', 'second', '--port', '0', '--secure-port', '0', '--metrics-port', String(taken));
    expect(created.exitCode).toBe(0);
    expect(created.stdout).toContain(`metrics off: port ${taken} is in use (another instance or program holds it)`);
    expect(created.stdout).toContain('--metrics-port');
    const text = await h.ops('broker', 'status', '--instance', 'second');
    expect(text.stdout).toContain(`metrics off: port ${taken} is in use`);
    const status = await h.json<Status>('broker', 'status', '--instance', 'second');
    expect(status.metricsPort).toBeNull();
    expect(status.metricsError).toBe(`port ${taken} is in use (another instance or program holds it)`);
  });

  it('overrides only the prometheusPort of a --broker-config-file (the rest of diagnostics is kept)', async () => {
    const config = join(h.home, 'broker.json');
    await writeFile(config, JSON.stringify({ diagnostics: { metrics: { prometheusPort: taken }, logs: { level: 'warn' } } }));
    const created = await h.json<Status>('create', '--instance', 'third', '--port', '0', '--secure-port', '0', '--broker-config-file', config, '--metrics-port', '0');
    expect(created.metricsPort).toBeGreaterThan(0);
    expect(created.metricsPort).not.toBe(taken);
    const shown = await h.json<{ properties: { diagnostics: unknown } }>('broker', 'show', '--instance', 'third');
    expect(shown.properties.diagnostics).toMatchObject({ metrics: { prometheusPort: 0 }, logs: { level: 'warn' } });
  });
});
