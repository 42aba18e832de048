import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeOpsHome, portOf, type OpsHome } from '../helpers/cli-ops.js';

interface LimitsView {
  live: boolean;
  limits: {
    maxConnectionsPerAddress: number;
    maxConnectionRatePerAddress: number;
    maxConnectPacketBytes: number;
    maxAuthFailuresPerAddress: number;
    authFailureWindowSeconds: number;
    authBlockSeconds: number;
  };
}

/** The failed-authentication backoff defaults. */
const AUTH_DEFAULTS = { maxAuthFailuresPerAddress: 10, authFailureWindowSeconds: 60, authBlockSeconds: 60 };

let h: OpsHome;
let port: number;
const clients: MqttClient[] = [];

beforeAll(async () => {
  h = await makeOpsHome();
  port = portOf(await h.json<{ ports: { listener: string; port: number }[] }>('create', '--instance', 'lim', '--port', '0'));
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await h.cleanup();
});

const connect = async (clientId: string): Promise<MqttClient> => {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 });
  clients.push(client);
  return client;
};

describe('ops broker limits', () => {
  it('shows the defaults: per-address limits off, CONNECT 64 KiB, failed-authentication backoff on (10 in 60 s, 60 s block)', async () => {
    expect(await h.json<LimitsView>('broker', 'limits', 'show', '--instance', 'lim')).toEqual({
      live: true,
      limits: { maxConnectionsPerAddress: 0, maxConnectionRatePerAddress: 0, maxConnectPacketBytes: 65_536, ...AUTH_DEFAULTS },
    });
    const text = await h.ops('broker', 'limits', 'show', '--instance', 'lim');
    expect(text.stdout).toContain('failed logins per address 10 in 60 s, then blocked 60 s (doubling on repeat)');
  });

  it('sets the failed-authentication backoff live, and refuses a block of 0 s naming the flag', async () => {
    const set = await h.json<LimitsView>('broker', 'limits', 'set', '--instance', 'lim', '--max-auth-failures', '5', '--auth-failure-window', '300', '--auth-block', '600');
    expect(set.limits).toMatchObject({ maxAuthFailuresPerAddress: 5, authFailureWindowSeconds: 300, authBlockSeconds: 600 });
    const bad = await h.ops('broker', 'limits', 'set', '--instance', 'lim', '--auth-block', '0');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--auth-block must be a whole number of seconds from 1 to 86400');
    const off = await h.json<LimitsView>('broker', 'limits', 'set', '--instance', 'lim', '--max-auth-failures', '0', '--auth-failure-window', '60', '--auth-block', '60');
    expect(off.limits).toMatchObject({ maxAuthFailuresPerAddress: 0 });
    expect((await h.ops('broker', 'limits', 'show', '--instance', 'lim')).stdout).toContain('failed logins per address off');
    const back = await h.json<LimitsView>('broker', 'limits', 'set', '--instance', 'lim', '--max-auth-failures', '10');
    expect(back.limits).toMatchObject(AUTH_DEFAULTS);
  });

  it('sets a per-address limit live: the client over it gets CONNACK 0x97, stats count it, the others stay', async () => {
    const a = await connect('a');
    const set = await h.json<LimitsView>('broker', 'limits', 'set', '--instance', 'lim', '--max-connections-per-address', '2', '--max-connect-size', '16Ki');
    expect(set.limits).toEqual({ maxConnectionsPerAddress: 2, maxConnectionRatePerAddress: 0, maxConnectPacketBytes: 16_384, ...AUTH_DEFAULTS });
    await connect('b');
    await expect(connect('c')).rejects.toThrow(/Quota exceeded/);
    expect(a.connected).toBe(true);
    const stats = await h.json<{ clients: { limitedConnections: number; rejectedConnections: number } }>('broker', 'stats', '--instance', 'lim');
    expect(stats.clients.limitedConnections).toBe(1);
    const text = await h.ops('broker', 'stats', '--instance', 'lim');
    expect(text.stdout).toMatch(/by address limits\s+1/);
  });

  it('refuses bad values with a message naming the flag, changing nothing', async () => {
    const bad = await h.ops('broker', 'limits', 'set', '--instance', 'lim', '--max-connect-size', '10');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--max-connect-size must be a size in bytes from 256');
    const none = await h.ops('broker', 'limits', 'set', '--instance', 'lim');
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain('Give at least one of --max-connections-per-address');
    const neg = await h.ops('broker', 'limits', 'set', '--instance', 'lim', '--max-connection-rate', '-1');
    expect(neg.exitCode).not.toBe(0);
    expect((await h.json<LimitsView>('broker', 'limits', 'show', '--instance', 'lim')).limits.maxConnectPacketBytes).toBe(16_384);
  });

  it('keeps the limits across a restart, and changes them while stopped', async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    expect((await h.ops('broker', 'stop', '--instance', 'lim')).exitCode).toBe(0);
    const offline = await h.ops('broker', 'limits', 'set', '--instance', 'lim', '--max-connection-rate', '50');
    expect(offline.exitCode).toBe(0);
    expect(offline.stdout).toContain('connection rate per address 50/s');
    port = portOf(await h.json<{ ports: { listener: string; port: number }[] }>('broker', 'start', '--instance', 'lim'));
    expect(await h.json<LimitsView>('broker', 'limits', 'show', '--instance', 'lim')).toEqual({
      live: true,
      limits: { maxConnectionsPerAddress: 2, maxConnectionRatePerAddress: 50, maxConnectPacketBytes: 16_384, ...AUTH_DEFAULTS },
    });
    await connect('after-restart');
    await connect('after-restart-2');
    await expect(connect('after-restart-3')).rejects.toThrow(/Quota exceeded/);
  });
});
