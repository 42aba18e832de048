import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeOpsHome, portOf, type OpsHome } from '../helpers/cli-ops.js';

interface LimitsView {
  live: boolean;
  limits: { maxConnectionsPerAddress: number; maxConnectionRatePerAddress: number; maxConnectPacketBytes: number; maxSessionQueueBytes: number };
}

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
  it('shows the defaults: per-address limits off, CONNECT 64 KiB, 27 MiB per session (Medium: 1/16 of 432 MiB)', async () => {
    expect(await h.json<LimitsView>('broker', 'limits', 'show', '--instance', 'lim')).toEqual({
      live: true,
      limits: { maxConnectionsPerAddress: 0, maxConnectionRatePerAddress: 0, maxConnectPacketBytes: 65_536, maxSessionQueueBytes: 27 * 1024 * 1024 },
    });
    expect((await h.ops('broker', 'limits', 'show', '--instance', 'lim')).stdout).toMatch(/queued bytes per session\s+28311552 bytes/);
  });

  it('sets a per-address limit live: the client over it gets CONNACK 0x97, stats count it, the others stay', async () => {
    const a = await connect('a');
    const set = await h.json<LimitsView>('broker', 'limits', 'set', '--instance', 'lim', '--max-connections-per-address', '2', '--max-connect-size', '16Ki');
    expect(set.limits).toEqual({ maxConnectionsPerAddress: 2, maxConnectionRatePerAddress: 0, maxConnectPacketBytes: 16_384, maxSessionQueueBytes: 27 * 1024 * 1024 });
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
    const tiny = await h.ops('broker', 'limits', 'set', '--instance', 'lim', '--max-session-queue-size', '1000');
    expect(tiny.exitCode).toBe(2);
    expect(tiny.stderr).toContain('--max-session-queue-size must be a size in bytes from 1024');
    const neg = await h.ops('broker', 'limits', 'set', '--instance', 'lim', '--max-connection-rate', '-1');
    expect(neg.exitCode).not.toBe(0);
    expect((await h.json<LimitsView>('broker', 'limits', 'show', '--instance', 'lim')).limits.maxConnectPacketBytes).toBe(16_384);
  });

  it('keeps the limits across a restart, and changes them while stopped', async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    expect((await h.ops('broker', 'stop', '--instance', 'lim')).exitCode).toBe(0);
    const offline = await h.ops('broker', 'limits', 'set', '--instance', 'lim', '--max-connection-rate', '50', '--max-session-queue-size', '8Mi');
    expect(offline.exitCode).toBe(0);
    expect(offline.stdout).toContain('connection rate per address 50/s');
    expect(offline.stdout).toContain(`queued bytes per session  ${8 * 1024 * 1024} bytes`);
    port = portOf(await h.json<{ ports: { listener: string; port: number }[] }>('broker', 'start', '--instance', 'lim'));
    expect(await h.json<LimitsView>('broker', 'limits', 'show', '--instance', 'lim')).toEqual({
      live: true,
      limits: { maxConnectionsPerAddress: 2, maxConnectionRatePerAddress: 50, maxConnectPacketBytes: 16_384, maxSessionQueueBytes: 8 * 1024 * 1024 },
    });
    await connect('after-restart');
    await connect('after-restart-2');
    await expect(connect('after-restart-3')).rejects.toThrow(/Quota exceeded/);
  });

  it('sets the session queue bound live: a session past it drops (counted), its publisher still gets 0x00', async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    const set = await h.json<LimitsView>('broker', 'limits', 'set', '--instance', 'lim', '--max-connections-per-address', '0', '--max-session-queue-size', '1Ki');
    expect(set.limits.maxSessionQueueBytes).toBe(1024);
    const hog = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'e2e-hog', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 300 }, reconnectPeriod: 0 });
    await hog.subscribeAsync('bound/#', { qos: 1 });
    await hog.endAsync();
    const publisher = await connect('e2e-pub');
    for (let i = 0; i < 3; i++) await publisher.publishAsync('bound/t', Buffer.alloc(2048, i), { qos: 1 }); // rejects on a PUBACK >= 0x80
    const stats = await h.json<{ messages: { queued: number; queueFullDrops: number } }>('broker', 'stats', '--instance', 'lim');
    expect(stats.messages).toMatchObject({ queued: 1, queueFullDrops: 2 }); // one message always fits an empty queue
    expect((await h.ops('broker', 'stats', '--instance', 'lim')).stdout).toMatch(/at a session queue bound\s+2/);
  });
});
