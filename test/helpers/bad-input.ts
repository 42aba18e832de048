import type { MqttClient } from 'mqtt';
import type { IDisconnectPacket, Packet } from 'mqtt-packet';
import { expect } from 'vitest';
import type { RawClient } from './raw-client.js';
import { nextMessage, type RunningBroker } from './start-broker.js';

/** Helpers for the bad-input, robustness and fuzz tests. */

/** Rejects when `promise` has not settled within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what = 'event'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Waits (bounded) until the raw client's connection is closed by the broker. */
export async function expectClosed(raw: RawClient, ms = 3000): Promise<void> {
  await within(raw.closed, ms, 'connection close');
  expect(raw.isClosed).toBe(true);
}

/**
 * Expects the broker to answer with nothing but (v5) a DISCONNECT with `reasonCode`, then close.
 * Returns the DISCONNECT.
 */
export async function expectDisconnect(raw: RawClient, reasonCode: number): Promise<IDisconnectPacket> {
  const packet = await raw.next();
  expect(packet?.cmd).toBe('disconnect');
  const disconnect = packet as IDisconnectPacket;
  expect(disconnect.reasonCode).toBe(reasonCode);
  await expectClosed(raw);
  return disconnect;
}

/** Expects the connection to close without any packet first (MQTT 3.1.1, or before CONNACK). */
export async function expectClosedSilently(raw: RawClient): Promise<void> {
  const packet = await raw.next();
  expect(packet).toBeUndefined();
  await expectClosed(raw);
}

/**
 * Round-trip barrier: PINGREQ, then every packet that arrives before the PINGRESP. Throws when
 * the connection closes first.
 */
export async function pingBarrier(raw: RawClient, timeoutMs = 5000): Promise<Packet[]> {
  raw.send({ cmd: 'pingreq' });
  const before: Packet[] = [];
  for (;;) {
    const packet = await raw.next(timeoutMs);
    if (packet === undefined) throw new Error('connection closed before PINGRESP');
    if (packet.cmd === 'pingresp') return before;
    before.push(packet);
  }
}

/** Two `mqtt` clients (one v5 subscriber, one 3.1.1 publisher) connected next to the bad input. */
export interface Bystanders {
  readonly sub: MqttClient;
  readonly pub: MqttClient;
  readonly topic: string;
}

/**
 * Connects bystanders that later prove the broker still serves other clients (`running`: an
 * in-process broker, or anything that connects `mqtt` clients to one, e.g. a child process).
 */
export async function connectBystanders(running: Pick<RunningBroker, 'connect'>, topic = 'bystander/t', idSuffix = ''): Promise<Bystanders> {
  const sub = await running.connect({ protocolVersion: 5, clientId: `bystander-sub${idSuffix}` });
  await sub.subscribeAsync(topic, { qos: 1 });
  const pub = await running.connect({ protocolVersion: 4, clientId: `bystander-pub${idSuffix}` });
  return { sub, pub, topic };
}

let exchangeCount = 0;

/** The bystanders are still connected and still exchange a QoS 1 message. */
export async function expectBystandersServed(b: Bystanders): Promise<void> {
  expect(b.sub.connected).toBe(true);
  expect(b.pub.connected).toBe(true);
  const payload = `still-alive-${++exchangeCount}`;
  const got = nextMessage(b.sub);
  await b.pub.publishAsync(b.topic, payload, { qos: 1 });
  const message = await within(got, 5000, 'bystander message');
  expect(message.topic).toBe(b.topic);
  expect(message.payload.toString()).toBe(payload);
}

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Variable Byte Integer encoding (the Remaining Length of a fixed header). */
export function varInt(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    out.push(byte);
  } while (v > 0);
  return out;
}

/** Errors that escaped to the process (uncaughtException, unhandledRejection) while being watched. */
export interface ProcessFaults {
  readonly errors: unknown[];
  /** Removes the listeners. */
  stop(): void;
}

/**
 * Records every error that reaches `uncaughtException` or `unhandledRejection` from now on (an
 * in-process broker's escape that would end a real broker process); `stop()` in afterEach.
 */
export function watchProcessFaults(): ProcessFaults {
  const errors: unknown[] = [];
  const record = (error: unknown): void => {
    errors.push(error);
  };
  process.on('uncaughtException', record);
  process.on('unhandledRejection', record);
  return {
    errors,
    stop() {
      process.off('uncaughtException', record);
      process.off('unhandledRejection', record);
    },
  };
}
