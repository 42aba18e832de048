import type { IConnackPacket } from 'mqtt-packet';
import { describe, expect, it, vi } from 'vitest';
import { MAX_PENDING_REFUSALS } from '../../../src/broker/address-limiter.js';
import type { AuthenticationRequest, AuthenticationResult } from '../../../src/broker/hooks.js';
import { connectBystanders, expectBystandersServed, expectClosed, expectClosedSilently, varInt, within } from '../../helpers/bad-input.js';
import { useRawBroker } from '../../helpers/raw-broker.js';
import { recordingLogger } from '../../helpers/recording-logger.js';

const { start, open: raw } = useRawBroker();

/** Fixed header + start of a v5/3.1.1 CONNECT announcing `total` remaining bytes (the rest never sent). */
function hugeConnectHead(remaining: number, level: 4 | 5): Buffer {
  return Buffer.from([0x10, ...varInt(remaining), 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, level, 0x02, 0x00, 0x00]);
}

describe('per-address connection limit', () => {
  it('refuses connection N+1 from one address with 0x97 (v5) / return code 3 (3.1.1), leaves the others working, and admits again after a close', async () => {
    const logger = recordingLogger();
    const running = await start({ connectionLimits: { maxConnectionsPerAddress: 3 }, logger });
    const bystanders = await connectBystanders(running); // 2 of 3
    const third = await raw(5);
    expect((await third.connect({ clientId: 'third' })).reasonCode).toBe(0);

    const v5 = await raw(5);
    const refused = await v5.connect({ clientId: 'fourth' });
    expect(refused.reasonCode).toBe(0x97); // Quota exceeded
    expect(refused.properties?.reasonString).toBe('more than 3 connections from 127.0.0.1');
    await expectClosed(v5);
    const v3 = await raw(4);
    expect((await v3.connect({ clientId: 'fifth' })).returnCode).toBe(3); // Server unavailable
    await expectClosed(v3);

    await expectBystandersServed(bystanders);
    const stats = running.broker.stats().clients;
    expect(stats.limitedConnections).toBe(2);
    expect(stats.rejectedConnections).toBe(2);
    expect(stats.connected).toBe(3);
    // One warning line for the burst, not one per refusal.
    expect(logger.warnings.filter((w) => w.message === 'connection refused: per-address limit')).toHaveLength(1);
    expect(logger.warnings[0]?.fields).toMatchObject({ remoteAddress: '127.0.0.1' });

    third.destroy();
    await third.closed;
    // The slot frees when the broker sees the socket close.
    await vi.waitFor(
      async () => {
        const again = await raw(5);
        expect((await again.connect({ clientId: 'again' })).reasonCode).toBe(0);
      },
      { timeout: 3000, interval: 50 },
    );
    await expectBystandersServed(bystanders);
  });

  it('closes connections unread once too many refusals are pending for one address', async () => {
    const running = await start({ connectionLimits: { maxConnectionsPerAddress: 1 } });
    const holder = await raw(5);
    expect((await holder.connect({ clientId: 'holder' })).reasonCode).toBe(0);
    // Refused connections that send no CONNECT wait for it (to tell the reason) ... but only a few of them.
    for (let i = 0; i < MAX_PENDING_REFUSALS; i++) await raw(5);
    const extra = await raw(5);
    await expectClosedSilently(extra);
    expect(running.broker.stats().clients.limitedConnections).toBe(MAX_PENDING_REFUSALS + 1);
  });

  it('answers a refused CONNECT before authentication: the authenticate hook never sees it', async () => {
    const authenticate = vi.fn<(request: AuthenticationRequest) => AuthenticationResult>(() => ({ reasonCode: 0 }));
    const running = await start({ connectionLimits: { maxConnectionsPerAddress: 1 }, hooks: { authenticate } });
    const holder = await raw(5);
    expect((await holder.connect({ clientId: 'holder' })).reasonCode).toBe(0);
    const refused = await raw(5);
    expect((await refused.connect({ clientId: 'refused' })).reasonCode).toBe(0x97);
    await expectClosed(refused);
    expect(authenticate.mock.calls.map(([request]) => request.clientId)).toEqual(['holder']);
    expect(running.broker.stats().clients.rejectedConnections).toBe(1);
  });

  it('applies new limits live without touching connections already open', async () => {
    const running = await start();
    const bystanders = await connectBystanders(running);
    running.broker.setConnectionLimits({ maxConnectionsPerAddress: 1 }); // below the two open: they stay
    expect(running.broker.connectionLimits.maxConnectionsPerAddress).toBe(1);
    const late = await raw(5);
    expect((await late.connect({ clientId: 'late' })).reasonCode).toBe(0x97);
    await expectBystandersServed(bystanders);
    running.broker.setConnectionLimits({});
    const later = await raw(5);
    expect((await later.connect({ clientId: 'later' })).reasonCode).toBe(0);
  });
});

describe('per-address connection rate', () => {
  it('refuses connections opened faster than the rate with 0x9F Connection rate exceeded', async () => {
    await start({ connectionLimits: { maxConnectionRatePerAddress: 3 } });
    const clients = await Promise.all([1, 2, 3, 4, 5].map(() => raw(5)));
    const acks = await Promise.all(clients.map((c, i) => c.connect({ clientId: `burst-${i}` })));
    const codes = acks.map((a: IConnackPacket) => a.reasonCode).sort();
    // A bucket of 3: at least two of five refused (a token may refill while they connect).
    expect(codes.filter((c) => c === 0).length).toBeGreaterThanOrEqual(3);
    expect(codes.filter((c) => c === 0x9f).length).toBeGreaterThanOrEqual(1);
    expect(codes.every((c) => c === 0 || c === 0x9f)).toBe(true);
    const refused = acks.find((a) => a.reasonCode === 0x9f);
    expect(refused?.properties?.reasonString).toBe('more than 3 new connections per second from 127.0.0.1');
  });
});

describe('CONNECT size before authentication', () => {
  it('refuses a huge v5 CONNECT at its fixed header with CONNACK 0x95, quickly, while another client keeps publishing', async () => {
    const logger = recordingLogger();
    const running = await start({ logger });
    const bystanders = await connectBystanders(running);
    const attacker = await raw(5);
    const started = Date.now();
    attacker.sendBytes(hugeConnectHead(100 * 1024 * 1024, 5)); // announces 100 MiB, sends 17 bytes
    const connack = (await attacker.next()) as IConnackPacket;
    expect(connack.cmd).toBe('connack');
    expect(connack.reasonCode).toBe(0x95);
    expect(connack.properties?.reasonString).toBe('CONNECT of 104857605 bytes exceeds the maximum of 65536');
    await expectClosed(attacker);
    expect(Date.now() - started).toBeLessThan(1000);
    await expectBystandersServed(bystanders);
    const stats = running.broker.stats().clients;
    expect(stats.oversizedConnects).toBe(1);
    expect(stats.rejectedConnections).toBe(1);
    expect(logger.warnings.map((w) => w.message)).toEqual(['connection refused: CONNECT too large']);
  });

  it('closes a huge 3.1.1 CONNECT without a CONNACK (3.1.1 has no such code)', async () => {
    const running = await start();
    const attacker = await raw(4);
    attacker.sendBytes(hugeConnectHead(1_000_000, 4));
    await expectClosedSilently(attacker);
    expect(running.broker.stats().clients.oversizedConnects).toBe(1);
  });

  it('refuses a real client whose CONNECT carries a will over the limit, accepts it under a higher limit, and allows big packets after CONNECT', async () => {
    let running = await start();
    // 60 KB of will and 10 KB of password: a 70 KB CONNECT (each field is at most 64 KiB).
    const big = { will: { topic: 'w', payload: Buffer.alloc(60_000, 1), qos: 0 as const, retain: false }, username: 'u', password: Buffer.alloc(10_000, 2) };
    await expect(running.connect({ protocolVersion: 5, clientId: 'big-will', ...big })).rejects.toThrow(/Packet too large/i);
    await running.stop();
    running = await start({ connectionLimits: { maxConnectPacketBytes: 100_000 } });
    const ok = await running.connect({ protocolVersion: 5, clientId: 'big-will', ...big });
    expect(ok.connected).toBe(true);
    // After CONNECT the packet limit is the broker's maximum packet size again.
    await ok.subscribeAsync('big', { qos: 1 });
    const got = new Promise<Buffer>((resolve) => ok.once('message', (_t, payload) => resolve(payload)));
    await ok.publishAsync('big', Buffer.alloc(1_000_000, 2), { qos: 1 });
    expect((await got).length).toBe(1_000_000);
  });

  it('never accepts a CONNECT above the maximum packet size', async () => {
    const running = await start({ clients: { maxPacketSizeBytes: 1000 }, connectionLimits: { maxConnectPacketBytes: 1_000_000 } });
    expect(running.broker.connectionLimits.maxConnectPacketBytes).toBe(1000);
  });
});

describe('CONNECT timeout', () => {
  it('closes a client that trickles its CONNECT byte by byte (slowloris) at the connect timeout', async () => {
    const running = await start({ connectTimeoutMs: 500 });
    const bystanders = await connectBystanders(running);
    const slow = await raw(5);
    const connect = Buffer.from([0x10, 0x30, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x05, 0x02, 0x00, 0x00, 0x00, ...Buffer.alloc(37, 0x61)]);
    let sent = 0;
    const started = Date.now();
    const trickle = setInterval(() => {
      if (!slow.isClosed && sent < connect.length) slow.sendBytes([connect[sent++] as number]);
    }, 50);
    try {
      await within(slow.closed, 2000, 'close of the slow client');
    } finally {
      clearInterval(trickle);
    }
    expect(sent).toBeLessThan(connect.length); // closed before the CONNECT was complete
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    await expectBystandersServed(bystanders);
  });
});
