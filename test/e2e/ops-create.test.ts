import { access, chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, eventually, makeOpsHome, portOf, type OpsHome } from '../helpers/cli-ops.js';
import { connectClient, roundTrip } from '../helpers/cli-mqtt.js';

const fixture = (path: string) => new URL(`../../fixtures/config/${path}`, import.meta.url).pathname;
const exists = (path: string) => access(path).then(() => true, () => false);

interface Started {
  pid: number;
  ports: Array<{ listener: string; port: number; host: string }>;
  adminSocket: string;
  broker: { id: string; name: string; type: string; properties: Record<string, unknown> };
}

let h: OpsHome;
beforeAll(async () => {
  h = await makeOpsHome();
});
afterAll(async () => {
  await h.cleanup();
});

describe('ops create', () => {
  let created: Started;

  it('creates from a valid file, starts the broker and prints where it listens', async () => {
    created = await h.json<Started>('create', '--instance', 'main', '--port', '0', '--secure-port', '0', '--broker-config-file', fixture('valid/broker--client-options.json'));
    expect(alive(created.pid)).toBe(true);
    expect(created.broker.properties['advanced']).toMatchObject({ clients: { maxKeepAliveSeconds: 300 } });
    expect(await roundTrip(portOf(created), 'factory/line1', 'hello')).toBe('hello');
    const text = await h.ops('broker', 'status', '--instance', 'main');
    expect(text.stdout).toContain(`mqtt://127.0.0.1:${portOf(created)}`);
  });

  it('reports the port in status and the AIO resource in show/list', async () => {
    const status = await h.json<Started & { running: boolean }>('broker', 'status', '--instance', 'main');
    expect(status).toMatchObject({ running: true, pid: created.pid });
    expect(portOf(status)).toBe(portOf(created));
    const show = await h.json<Started['broker'] & { resourceGroup: string }>('broker', 'show', '--instance', 'main');
    expect(show.id).toMatch(/\/instances\/main\/brokers\/default$/);
    expect(show).toMatchObject({ name: 'default', type: 'Microsoft.IoTOperations/instances/brokers', properties: { provisioningState: 'Succeeded' } });
    const table = await h.ops('broker', 'list', '--instance', 'main', '-o', 'table');
    expect(table.stdout.split('\n')[0]).toMatch(/^Name\s+ResourceGroup\s+ProvisioningState$/);
    const all = await h.json<Array<{ id: string }>>('broker', 'list', '--all');
    expect(all.map((b) => b.id.split('/instances/')[1])).toContain('main/brokers/default');
    const yaml = await h.ops('broker', 'show', '--in', 'main', '-o', 'yaml');
    expect(yaml.stdout).toContain('type: Microsoft.IoTOperations/instances/brokers');
    // Embedded: cardinality is recorded (in properties) and said not applied, in the text and as a field.
    expect((show as { cardinality?: unknown }).cardinality).toEqual({ applied: false, note: expect.stringMatching(/^recorded, not applied: an embedded instance is one broker process/) });
    expect(yaml.stdout).toContain('applied: false');
    const members = await h.ops('broker', 'stats', '--instance', 'main', '--members');
    expect(members.exitCode).toBe(2);
    expect(members.stderr).toContain('has no members');
  });

  it('counts the clients in stats', async () => {
    const client = await connectClient(portOf(created));
    try {
      const stats = await h.json<{ clients: { connected: number }; messages: { received: number } }>('broker', 'stats', '--instance', 'main');
      expect(stats.clients.connected).toBe(1);
      expect(stats.messages.received).toBeGreaterThanOrEqual(1);
    } finally {
      await client.endAsync();
    }
  });

  it('refuses a different deployment on an existing instance, naming the setting', async () => {
    await writeFile(join(h.home, 'other.json'), JSON.stringify({ memoryProfile: 'Tiny' }));
    const r = await h.ops('create', '--instance', 'main', '--broker-config-file', join(h.home, 'other.json'));
    expect(r.exitCode).toBe(5);
    expect(r.stderr).toContain("'memoryProfile");
    expect(r.stderr).toContain('locked at create');
  });

  it('stops and starts again on a new ephemeral port, and delete cleans up', async () => {
    expect((await h.ops('broker', 'stop', '--instance', 'main')).exitCode).toBe(0);
    expect(await eventually(() => !alive(created.pid))).toBe(true);
    expect((await h.ops('broker', 'status', '--instance', 'main')).stdout).toContain('stopped');
    const again = await h.json<Started>('broker', 'start', '--instance', 'main');
    expect(again.pid).not.toBe(created.pid);
    await (await connectClient(portOf(again))).endAsync();
    const del = await h.ops('delete', '--instance', 'main', '--yes');
    expect(del.exitCode).toBe(0);
    expect(alive(again.pid)).toBe(false);
    expect(await exists(join(h.home, 'main'))).toBe(false);
    await expect(connectClient(portOf(again))).rejects.toThrow();
  });
});

describe('ops create with a bad file', () => {
  it('lists every problem with its JSON path, exits 2 and creates nothing', async () => {
    const r = await h.ops('create', '--instance', 'bad', '--port', '0', '--secure-port', '0', '--broker-config-file', fixture('invalid/broker--ranges.json'));
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('(6 problem(s))');
    for (const path of ['cardinality.backendChain.partitions', 'cardinality.frontend.replicas', 'diagnostics.selfCheck.intervalSeconds']) {
      expect(r.stderr).toContain(`  - ${path}: `);
    }
    expect(await exists(join(h.home, 'bad'))).toBe(false);
  });

  it('reports broken JSON with line and column', async () => {
    const r = await h.ops('create', '--instance', 'bad', '--broker-config-file', fixture('invalid/broker--broken-json.json'));
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('is not valid JSON: trailing comma before } (line 5, column 3)');
    expect(await exists(join(h.home, 'bad'))).toBe(false);
  });

  it('reports a missing file with the AIO message', async () => {
    const r = await h.ops('create', '--instance', 'bad', '--broker-config-file', '/nonexistent/broker.json');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('/nonexistent/broker.json does not exist.');
  });

  it('range-checks the cardinality flags like az iot ops create', async () => {
    const r = await h.ops('create', '--instance', 'bad', '--broker-frontend-replicas', '17', '--broker-backend-rf', '1');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('frontendReplicas value range min:1 max:16\nbackendRedundancyFactor value range min:2 max:5');
  });

  it('fails cleanly when the port is taken, naming the flag that moves it, leaving no instance', async () => {
    const first = await h.json<Started>('create', '--instance', 'holder', '--port', '0', '--secure-port', '0');
    const r = await h.ops('create', '--instance', 'clash', '--port', String(portOf(first)), '--secure-port', '0');
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain(`Port ${portOf(first)} of listener 'default-insecure' is in use on 127.0.0.1`);
    expect(r.stderr).toContain('Choose another with --port N (0 picks a free one).');
    expect(r.stderr).toContain('(INST_PORT_IN_USE, exit code 3)');
    expect(await exists(join(h.home, 'clash'))).toBe(false);
    expect((await h.ops('delete', '--instance', 'holder', '--yes')).exitCode).toBe(0);
  });
});

describe('deployment lock', () => {
  it('refuses to start with a hand-edited lock', async () => {
    const created = await h.json<Started>('create', '--instance', 'locked', '--port', '0', '--secure-port', '0');
    expect((await h.ops('broker', 'stop', '--instance', 'locked')).exitCode).toBe(0);
    const lockPath = join(h.home, 'locked', 'deployment.json');
    const lock = JSON.parse(await readFile(lockPath, 'utf8')) as { settings: { memoryProfile: string } };
    lock.settings.memoryProfile = 'High';
    await chmod(lockPath, 0o644);
    await writeFile(lockPath, JSON.stringify(lock));
    const r = await h.ops('broker', 'start', '--instance', 'locked');
    expect(r.exitCode).toBe(5);
    expect(r.stderr).toContain('was changed by hand (checksum mismatch)');
    const run = await h.ops('broker', 'run', '--instance', 'locked');
    expect(run.exitCode).toBe(5);
    expect(alive(created.pid)).toBe(false);
  });
});
