import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.js';
import { makeOpsHome, portOf, type OpsHome } from '../helpers/cli-ops.js';

interface LimitsView {
  live: boolean;
  limits: {
    maxConnectionsPerAddress: number;
    maxConnectionRatePerAddress: number;
    maxConnectPacketBytes: number;
    maxSessionQueueBytes: number;
    maxSubscriptionsPerClient: number;
    maxTopicLevels: number;
    partialPacketTimeoutSeconds: number;
    maxPartialPacketBytes: number;
    maxAuthFailuresPerAddress: number;
    authFailureWindowSeconds: number;
    authBlockSeconds: number;
  };
}

/** The defaults of the resource limits on a Medium instance (108 MiB: a quarter of its 432 MiB queue budget). */
const RESOURCE_DEFAULTS = { maxSessionQueueBytes: 27 * 1024 * 1024, maxSubscriptionsPerClient: 10_000, maxTopicLevels: 100, partialPacketTimeoutSeconds: 30, maxPartialPacketBytes: 113_246_208 };

/** The failed-authentication backoff defaults. */
const AUTH_DEFAULTS = { maxAuthFailuresPerAddress: 10, authFailureWindowSeconds: 60, authBlockSeconds: 60 };

let h: OpsHome;
let port: number;
const clients: MqttClient[] = [];

beforeAll(async () => {
  h = await makeOpsHome();
  port = portOf(await h.json<{ ports: { listener: string; port: number }[] }>('create', '--instance', 'lim', '--port', '0', '--secure-port', '0'));
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
  it('shows the defaults: per-address limits off, CONNECT 64 KiB, failed-authentication backoff on (10 in 60 s, 60 s block), 10000 subscriptions, 100 levels, partial packets 30 s and 108 MiB, 27 MiB queued per session (Medium)', async () => {
    expect(await h.json<LimitsView>('broker', 'limits', 'show', '--instance', 'lim')).toEqual({
      live: true,
      limits: { ...RESOURCE_DEFAULTS, ...AUTH_DEFAULTS, maxConnectionsPerAddress: 0, maxConnectionRatePerAddress: 0, maxConnectPacketBytes: 65_536 },
    });
    const text = await h.ops('broker', 'limits', 'show', '--instance', 'lim');
    expect(text.stdout).toMatch(/queued bytes per session\s+28311552 bytes/);
    expect(text.stdout).toMatch(/subscriptions per client\s+10000/);
    expect(text.stdout).toMatch(/partial packet bytes\s+113246208 bytes/);
    expect(text.stdout).toContain('failed logins per address 10 in 60 s, then blocked 60 s (doubling on repeat)');
  });

  it('sets the subscription limit live: the filter over it gets SUBACK 0x97, the others are granted', async () => {
    const set = await h.json<LimitsView>('broker', 'limits', 'set', '--instance', 'lim', '--max-subscriptions', '2', '--max-topic-levels', '3');
    expect(set.limits.maxSubscriptionsPerClient).toBe(2);
    const raw = await RawClient.open(port, 5);
    try {
      await raw.connect({ clientId: 'subs' });
      raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/b/c/d', qos: 0 }, { topic: 'a/1', qos: 1 }, { topic: 'a/2', qos: 0 }, { topic: 'a/3', qos: 0 }] });
      const suback = await raw.nextOf('suback');
      expect(suback?.cmd === 'suback' ? suback.granted : undefined).toEqual([0x8f, 1, 0, 0x97]); // 4 levels > 3; then the third filter is one too many
    } finally {
      raw.destroy();
    }
    const stats = await h.json<{ limits: { subscriptionsRefused: number } }>('broker', 'stats', '--instance', 'lim');
    expect(stats.limits.subscriptionsRefused).toBe(1);
    expect((await h.ops('broker', 'stats', '--instance', 'lim')).stdout).toMatch(/refused by limit\s+1/);
    const back = await h.json<LimitsView>('broker', 'limits', 'set', '--instance', 'lim', '--max-subscriptions', '10000', '--max-topic-levels', '100');
    expect(back.limits).toMatchObject(RESOURCE_DEFAULTS);
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
    expect(set.limits).toEqual({ ...RESOURCE_DEFAULTS, ...AUTH_DEFAULTS, maxConnectionsPerAddress: 2, maxConnectionRatePerAddress: 0, maxConnectPacketBytes: 16_384 });
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
    const zero = await h.ops('broker', 'limits', 'set', '--instance', 'lim', '--partial-packet-timeout', '0');
    expect(zero.exitCode).toBe(2);
    expect(zero.stderr).toContain('--partial-packet-timeout must be a whole number of seconds from 1 to 3600');
    const small = await h.ops('broker', 'limits', 'set', '--instance', 'lim', '--max-partial-packet-bytes', '1Ki');
    expect(small.exitCode).toBe(2);
    expect(small.stderr).toContain('--max-partial-packet-bytes must be a size in bytes from 65536');
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
      limits: { ...RESOURCE_DEFAULTS, ...AUTH_DEFAULTS, maxConnectionsPerAddress: 2, maxConnectionRatePerAddress: 50, maxConnectPacketBytes: 16_384, maxSessionQueueBytes: 8 * 1024 * 1024 },
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
