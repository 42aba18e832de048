/**
 * Output through the real `ops` binary where a broker is needed: `-o table` of create and
 * `broker start` prints the started broker, and `broker stats` shows the broker's own
 * subscriptions and `$SYS` retained messages apart from the users'.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../helpers/cli-mqtt.js';
import { makeOpsHome, portOf, type OpsHome } from '../helpers/cli-ops.js';

interface Stats {
  subscriptions: number;
  retained: number;
  user: { subscriptions: number; retained: number };
  system: { subscriptions: number; retained: number };
}

let h: OpsHome;
let port = 0;
beforeAll(async () => {
  h = await makeOpsHome();
});
afterAll(async () => {
  await h.cleanup();
});

/** The data rows of a table, split into cells. */
const rows = (table: string): string[][] => table.trimEnd().split('\n').slice(2).map((l) => l.split(/\s{2,}/));

describe('ops output', () => {
  it('create -o table prints the instance, pid, where it listens and its metrics', async () => {
    const r = await h.ops('create', '--instance', 'out', '--port', '0', '--secure-port', '0', '--metrics-port', '0', '-o', 'table');
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^Instance\s+Pid\s+Listening\s+Metrics$/);
    const [row] = rows(r.stdout);
    expect(row?.[0]).toBe('out');
    expect(row?.[1]).toMatch(/^\d+$/);
    expect(row?.[2]).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+ mqtt:\/\/127\.0\.0\.1:\d+$/);
    expect(row?.[3]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    port = portOf(await h.json<{ ports: Array<{ listener: string; port: number }> }>('broker', 'status', '--instance', 'out'));
  });

  it('stats shows the users\' subscriptions and retained messages apart from the broker\'s own', async () => {
    const before = await h.json<Stats>('broker', 'stats', '--instance', 'out');
    expect(before.user).toEqual({ subscriptions: 0, retained: 0 });
    expect(before.system.subscriptions).toBeGreaterThan(0); // the state store's request topic
    expect(before.system.retained).toBeGreaterThan(0); // $SYS/broker/...
    const client = await connectClient(port, { clientId: 'stats-user', protocolVersion: 5 });
    try {
      await client.subscribeAsync('plant/#');
      await client.publishAsync('plant/line1', 'on', { qos: 1, retain: true });
      const after = await h.json<Stats>('broker', 'stats', '--instance', 'out');
      expect(after.user).toEqual({ subscriptions: 1, retained: 1 });
      expect(after.subscriptions).toBe(after.user.subscriptions + after.system.subscriptions);
      expect(after.retained).toBe(after.user.retained + after.system.retained);
      const text = await h.ops('broker', 'stats', '--instance', 'out');
      expect(text.stdout).toMatch(/^subscriptions +1$/m);
      expect(text.stdout).toMatch(/^retained messages +1$/m);
      expect(text.stdout).toMatch(/^ +\$SYS \(broker\) +\d+ \(not counted above\)$/m);
    } finally {
      await client.endAsync(true);
    }
  });

  it('broker start -o table prints a row for the started broker', async () => {
    expect((await h.ops('broker', 'stop', '--instance', 'out')).exitCode).toBe(0);
    const r = await h.ops('broker', 'start', '--instance', 'out', '-o', 'table');
    expect(r.exitCode).toBe(0);
    const [row] = rows(r.stdout);
    expect(row?.[0]).toBe('out');
    expect(row?.[2]).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+ mqtt:\/\/127\.0\.0\.1:\d+$/);
  });
});
