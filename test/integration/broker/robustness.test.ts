import { connect as netConnect } from 'node:net';
import mqttPacket, { type IDisconnectPacket, type IPublishPacket, type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import {
  connectBystanders,
  expectBystandersServed,
  expectClosed,
  expectClosedSilently,
  expectDisconnect,
  pingBarrier,
  within,
} from '../../helpers/bad-input.js';
import { useRawBroker } from '../../helpers/raw-broker.js';
import type { RawClient } from '../../helpers/raw-client.js';

const { start, open } = useRawBroker();

async function connected(version: 4 | 5, clientId: string, fields: Partial<mqttPacket.IConnectPacket> = {}): Promise<RawClient> {
  const raw = await open(version);
  const connack = await raw.connect({ clientId, ...fields });
  expect(version === 5 ? connack.reasonCode : connack.returnCode).toBe(ReasonCode.Success);
  return raw;
}

async function subscribe(raw: RawClient, topic: string, qos: 0 | 1 | 2, messageId = 1): Promise<void> {
  raw.send({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] });
  expect(await raw.next()).toMatchObject({ cmd: 'suback', messageId, granted: [qos] });
}

function publishBytes(version: 4 | 5, topic: string, payload: Buffer, qos: 0 | 1 = 0, messageId = 0): Buffer {
  return mqttPacket.generate(
    { cmd: 'publish', topic, payload, qos, dup: false, retain: false, ...(qos > 0 ? { messageId } : {}) },
    { protocolVersion: version },
  );
}

const KIB = 1024;
const MIB = 1024 * KIB;

describe('slow and stalled readers', () => {
  it('QoS 0 to a reader that never reads is dropped past the output high-water mark; others are served', async () => {
    const b = await start({ outputHighWaterMark: 64 * KIB });
    const bystanders = await connectBystanders(b);
    const stalled = await connected(5, 'stalled');
    await subscribe(stalled, 'flood', 0);
    stalled.socket.pause(); // never reads again: kernel buffers fill, then the broker's output buffer

    const publisher = await connected(4, 'flooder');
    const payload = Buffer.alloc(16 * KIB, 0x61);
    const count = 3000; // 48 MiB offered, far above socket buffers + high-water mark
    const one = publishBytes(4, 'flood', payload);
    for (let sent = 0; sent < count; sent += 100) publisher.sendBytes(Buffer.concat(Array.from({ length: 100 }, () => one)));
    await pingBarrier(publisher, 20_000); // every PUBLISH before the PINGREQ has been routed

    const stats = b.broker.stats();
    expect(stats.messages.received).toBe(count);
    const toStalled = stats.messages.sent; // bystanders have exchanged nothing yet
    expect(toStalled + stats.messages.dropped).toBe(count);
    expect(stats.messages.dropped).toBeGreaterThan(count / 2);
    // What was written (and so held by kernel buffers or our output buffer) is bounded, not 48 MiB.
    expect(toStalled * one.length).toBeLessThan(24 * MIB);
    expect(stats.messages.queued).toBe(0); // QoS 0 is never queued

    await expectBystandersServed(bystanders);
    expect(stalled.isClosed).toBe(false);
    expect(b.broker.stats().clients.connected).toBe(4);
  });

  it('QoS 1 to a client that does not acknowledge stops at its Receive Maximum and waits in the queue [MQTT-4.9.0-2]', async () => {
    const b = await start({ clients: { subscriberQueueLimit: { length: 20, strategy: 'DropOldest' } } });
    const sub = await connected(5, 'no-acks', { properties: { receiveMaximum: 5 } });
    await subscribe(sub, 'q1', 1);
    const publisher = await connected(5, 'p1');
    for (let i = 0; i < 50; i++) publisher.sendBytes(publishBytes(5, 'q1', Buffer.from(`m${i}`), 1, i + 1));
    for (let i = 0; i < 50; i++) expect(await publisher.next()).toMatchObject({ cmd: 'puback', messageId: i + 1 });

    const got = await pingBarrier(sub);
    expect(got.map((p) => (p as IPublishPacket).payload.toString())).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    const stats = b.broker.stats().messages;
    expect(stats.inflight).toBe(5);
    expect(stats.queued).toBe(20); // the queue limit, not 45: DropOldest kept m30..m49
    expect(stats.dropped).toBe(25);

    // Acknowledging one lets exactly one more out: the oldest message still queued.
    sub.send({ cmd: 'puback', messageId: (got[0] as IPublishPacket).messageId as number });
    const next = await pingBarrier(sub);
    expect(next.map((p) => (p as IPublishPacket).payload.toString())).toEqual(['m30']);
    expect(b.broker.stats().messages.queued).toBe(19);
  });

  it('QoS 1 to a reader that never reads waits for the socket instead of growing without bound', async () => {
    const b = await start({ outputHighWaterMark: 64 * KIB, clients: { subscriberQueueLimit: { length: 100, strategy: 'DropOldest' } } });
    const stalled = await connected(5, 'stalled-q1');
    await subscribe(stalled, 'big', 1);
    stalled.socket.pause();
    const publisher = await connected(4, 'p-big');
    const payload = Buffer.alloc(32 * KIB, 0x62);
    const count = 1500; // 48 MiB offered
    const chunks: Buffer[] = [];
    for (let i = 0; i < count; i++) chunks.push(publishBytes(4, 'big', payload, 1, (i % 65_535) + 1));
    publisher.sendBytes(Buffer.concat(chunks));
    for (let i = 0; i < count; i++) {
      const ack = await publisher.next(20_000);
      expect(ack?.cmd).toBe('puback');
    }
    const stats = b.broker.stats().messages;
    expect(stats.received).toBe(count);
    expect(stats.queued).toBe(100); // bounded by the queue limit
    expect(stats.inflight).toBe(stats.sent); // everything written is unacknowledged
    expect(stats.sent * payload.length).toBeLessThan(24 * MIB); // the socket gates the in-flight window
    expect(stats.inflight + stats.queued + stats.dropped).toBe(count);
    expect(stalled.isClosed).toBe(false);
  });
});

describe('connect timeout', () => {
  it('a connection that sends nothing is closed after connectTimeoutMs [MQTT-3.1.0-1]', async () => {
    const b = await start({ connectTimeoutMs: 150 });
    const silent = await open(5);
    const startedAt = Date.now();
    await within(silent.closed, 3000, 'close of a silent connection');
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(100);
    expect(b.broker.stats().clients.totalConnections).toBe(1);
    // a client that does send CONNECT in time is served normally
    const ok = await connected(5, 'in-time');
    await pingBarrier(ok);
  });

  it('a connection that sends half a CONNECT is closed after connectTimeoutMs', async () => {
    await start({ connectTimeoutMs: 150 });
    const slow = await open(4);
    slow.sendBytes([0x10, 0x20, 0x00, 0x04]);
    await within(slow.closed, 3000, 'close of a half CONNECT');
    expect(await slow.next()).toBeUndefined();
  });
});

describe('graceful shutdown', () => {
  it('close() sends DISCONNECT 0x8B to v5 clients, closes 3.1.1 clients, then refuses connections [MQTT-3.14.2-1]', async () => {
    const b = await start();
    const v5raw = await connected(5, 'v5-raw');
    const v4raw = await connected(4, 'v4-raw');
    const v5client = await b.connect({ protocolVersion: 5, clientId: 'v5-mqtt' });
    const v5disconnect = new Promise<IDisconnectPacket>((resolve) => v5client.once('disconnect', resolve));
    const waiting = await open(5); // not yet connected: closed without a packet

    await b.broker.close();

    await expectDisconnect(v5raw, ReasonCode.ServerShuttingDown);
    await expectClosedSilently(v4raw);
    await expectClosedSilently(waiting);
    expect((await within(v5disconnect, 3000, 'mqtt DISCONNECT')).reasonCode).toBe(ReasonCode.ServerShuttingDown);

    const refused = await new Promise<string>((resolve) => {
      const socket = netConnect({ port: b.port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
    expect(b.broker.stats().clients.connected).toBe(0);
    await b.broker.close(); // idempotent
  });
});

describe('stats', () => {
  it('figures are exact after a scripted exchange', async () => {
    const b = await start();
    const bytesIn = { n: 0 };
    const bytesOut = { n: 0 };
    const track = (raw: RawClient): RawClient => {
      raw.socket.on('data', (chunk: Buffer) => {
        bytesIn.n += chunk.length;
      });
      const send = raw.socket.write.bind(raw.socket);
      raw.socket.write = ((chunk: Buffer | string, ...rest: never[]) => {
        bytesOut.n += Buffer.byteLength(chunk);
        return send(chunk, ...rest);
      }) as typeof raw.socket.write;
      return raw;
    };
    const sub = track(await open(5));
    await sub.connect({ clientId: 'stats-sub' });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/b', qos: 1 }, { topic: 'c/#', qos: 0 }] });
    expect(await sub.next()).toMatchObject({ cmd: 'suback', granted: [1, 0] });
    const pub = track(await open(4));
    await pub.connect({ clientId: 'stats-pub', clean: false });

    pub.send({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('one'), qos: 1, messageId: 1, dup: false, retain: false });
    expect(await pub.next()).toMatchObject({ cmd: 'puback', messageId: 1 });
    pub.send({ cmd: 'publish', topic: 'c/d/e', payload: Buffer.from('two'), qos: 0, dup: false, retain: true });
    pub.send({ cmd: 'publish', topic: 'nobody', payload: Buffer.from('three'), qos: 0, dup: false, retain: false });
    await pingBarrier(pub);
    const first = (await sub.next()) as IPublishPacket;
    const second = (await sub.next()) as IPublishPacket;
    expect([first.topic, second.topic]).toEqual(['a/b', 'c/d/e']);

    let stats = b.broker.stats();
    expect(stats.clients).toEqual({ connected: 2, sessions: 2, disconnectedSessions: 0, totalConnections: 2, maxConnected: 2, rejectedConnections: 0, limitedConnections: 0, oversizedConnects: 0, authenticationFailures: 0, throttledPublishers: 0 });
    expect(stats.subscriptions).toBe(2);
    expect(stats.retained).toBe(1);
    expect(stats.messages).toEqual({ received: 3, sent: 2, dropped: 0, queueFullDrops: 0, undeliverable: 0, queued: 0, spilled: 0, inflight: 1 });
    expect(stats.internalErrors).toBe(0);

    sub.send({ cmd: 'puback', messageId: first.messageId as number });
    await pingBarrier(sub);
    stats = b.broker.stats();
    expect(stats.messages.inflight).toBe(0);
    expect(stats.bytes).toEqual({ received: bytesOut.n, sent: bytesIn.n });

    // The persistent 3.1.1 session outlives its connection; the clean v5 one ends with it.
    pub.send({ cmd: 'disconnect' });
    await expectClosed(pub);
    sub.send({ cmd: 'disconnect', reasonCode: ReasonCode.Success });
    await expectClosed(sub); // the broker ends the socket after handling DISCONNECT
    stats = b.broker.stats();
    expect(stats.clients).toEqual({ connected: 0, sessions: 1, disconnectedSessions: 1, totalConnections: 2, maxConnected: 2, rejectedConnections: 0, limitedConnections: 0, oversizedConnects: 0, authenticationFailures: 0, throttledPublishers: 0 });
    expect(stats.subscriptions).toBe(0);
  });
});

describe('$SYS topics', () => {
  it('a $SYS/broker/# subscriber gets correct figures; a # subscriber gets no $SYS topics [MQTT-4.7.2-1]', async () => {
    await start({ sysIntervalSeconds: 1 });
    const hash = await connected(5, 'hash-sub');
    await subscribe(hash, '#', 0);
    const sys = await connected(4, 'sys-sub');
    sys.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: '$SYS/broker/#', qos: 0 }] });

    // Retained $SYS values arrive first (published at start, before anyone connected), then live updates.
    const values = new Map<string, string>();
    let updates = 0;
    await within(
      (async () => {
        for (;;) {
          const packet = await sys.next(5000);
          if (packet === undefined) throw new Error('closed');
          if (packet.cmd !== 'publish') continue;
          values.set(packet.topic, packet.payload.toString());
          if (!packet.retain && packet.topic === '$SYS/broker/clients/connected') updates++;
          if (updates > 0 && packet.topic === '$SYS/broker/bytes/sent') return; // the last of a live round
        }
      })(),
      5000,
      'a live $SYS round',
    );
    expect(values.get('$SYS/broker/clients/connected')).toBe('2');
    expect(values.get('$SYS/broker/clients/total')).toBe('2');
    expect(values.get('$SYS/broker/subscriptions/count')).toBe('2');
    expect(values.get('$SYS/broker/version')).toBe('ops-broker');
    expect(values.get('$SYS/broker/uptime')).toMatch(/^\d+ seconds$/);
    expect(Number(values.get('$SYS/broker/bytes/received'))).toBeGreaterThan(0);

    // The # subscriber was matched during the same routing: anything sent to it precedes this PINGRESP.
    const toHash = await pingBarrier(hash);
    expect(toHash.filter((p: Packet) => p.cmd === 'publish' && p.topic.startsWith('$'))).toEqual([]);
  });

  it('clients cannot publish to $SYS: v5 PUBACK 0x87, nothing routed', async () => {
    const b = await start();
    const sys = await connected(5, 'sys-watch');
    await subscribe(sys, '$SYS/#', 0);
    const pub = await connected(5, 'sys-pub');
    pub.send({ cmd: 'publish', topic: '$SYS/broker/clients/connected', payload: Buffer.from('999'), qos: 1, messageId: 9, dup: false, retain: true });
    expect(await pub.next()).toMatchObject({ cmd: 'puback', messageId: 9, reasonCode: ReasonCode.NotAuthorized });
    expect(await pingBarrier(sys)).toEqual([]);
    expect(b.broker.stats().retained).toBe(0);
  });
});
