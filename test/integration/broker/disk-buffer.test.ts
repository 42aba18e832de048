import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IPublishPacket } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import type { PersistenceDecisions } from '../../../src/broker/persistence-decisions.js';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import { LevelSpillBuffer } from '../../../src/storage/level/level-spill-buffer.js';
import type { RawClient } from '../../helpers/raw-client.js';
import { RawClients } from '../../helpers/session-helpers.js';
import { useBroker, type RunningBroker } from '../../helpers/start-broker.js';

const dirs: string[] = [];
const raws = new RawClients();
// After-hooks run in reverse: the clients close, then the brokers stop, then their buffer folders go.
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const brokers = useBroker();
afterEach(() => raws.destroyAll());

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ops-spill-'));
  dirs.push(dir);
  return dir;
}

/** Queues are never persisted here, so everything over the memory budget goes to the disk buffer. */
const MEMORY_ONLY = { persistQueue: () => false, persistRetained: () => false };

async function start(bufferBytes: number, persistence: PersistenceDecisions = MEMORY_ONLY): Promise<{ b: RunningBroker; path: string }> {
  const path = join(tempDir(), 'buffer');
  const diskBuffer = await LevelSpillBuffer.open({ path, maxBytes: bufferBytes });
  const b = await brokers.start({ queuedBytesBudget: 8 * 1024, persistence, diskBuffer });
  return { b, path };
}

async function offlineSubscriber(b: RunningBroker, clientId: string): Promise<void> {
  const raw = await raws.open(b.port, 5);
  await raw.connect({ clientId, clean: true, properties: { sessionExpiryInterval: 300 } });
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'buf/#', qos: 1 }] });
  expect((await raw.nextOf('suback'))?.cmd).toBe('suback');
  raw.send({ cmd: 'disconnect', reasonCode: ReasonCode.Success });
  await raw.closed;
}

async function publishAll(b: RunningBroker, count: number, from = 0): Promise<number[]> {
  const pub = await raws.open(b.port, 5);
  await pub.connect({ clientId: 'buf-pub' });
  const codes: number[] = [];
  for (let i = from; i < from + count; i++) {
    pub.send({ cmd: 'publish', topic: 'buf/t', payload: Buffer.from(`needle-${String(i).padStart(4, '0')}-${'x'.repeat(90)}`), qos: 1, messageId: i + 1, dup: false, retain: false });
    const ack = await pub.next();
    codes.push((ack as { reasonCode?: number }).reasonCode ?? 0);
  }
  return codes;
}

async function drain(raw: RawClient, count: number): Promise<string[]> {
  const got: string[] = [];
  while (got.length < count) {
    const packet = await raw.next(10_000);
    if (packet?.cmd !== 'publish') throw new Error(`expected PUBLISH, got ${packet?.cmd ?? 'close'}`);
    got.push((packet as IPublishPacket).payload.toString().slice(0, 11));
    raw.send({ cmd: 'puback', messageId: packet.messageId as number });
  }
  return got;
}

function filesContain(dir: string, needle: string): boolean {
  if (!existsSync(dir)) return false;
  return readdirSync(dir).some((name) => readFileSync(join(dir, name)).includes(Buffer.from(needle)));
}

describe('disk-backed message buffer', () => {
  it('queues over the memory budget spill to disk instead of dropping, and drain in order', async () => {
    const { b } = await start(4 * 1024 * 1024);
    await offlineSubscriber(b, 'spiller');
    const codes = await publishAll(b, 300);
    expect(codes.every((c) => c === ReasonCode.Success)).toBe(true); // nothing refused, nothing dropped
    const stats = b.broker.stats().messages;
    expect(stats.queued).toBe(300);
    expect(stats.spilled).toBeGreaterThan(250); // the budget holds only a few in memory
    expect(stats.dropped).toBe(0);

    const raw = await raws.open(b.port, 5);
    const connack = await raw.connect({ clientId: 'spiller', clean: false, properties: { sessionExpiryInterval: 300 } });
    expect(connack.sessionPresent).toBe(true);
    const got = await drain(raw, 300);
    expect(got).toEqual(Array.from({ length: 300 }, (_, i) => `needle-${String(i).padStart(4, '0')}`));
    expect(b.broker.stats().messages).toMatchObject({ queued: 0, spilled: 0, dropped: 0 });
  });

  it('a spilled queue that a policy swap makes persisted keeps its order: new messages follow the spilled ones', async () => {
    const policy = { persisted: false };
    const { b } = await start(4 * 1024 * 1024, { persistQueue: () => policy.persisted, persistRetained: () => false });
    await offlineSubscriber(b, 'spiller');
    expect((await publishAll(b, 300)).every((c) => c === ReasonCode.Success)).toBe(true);
    policy.persisted = true;
    expect(b.broker.persistencePolicyChanged()).toBe(1);
    expect((await publishAll(b, 20, 300)).every((c) => c === ReasonCode.Success)).toBe(true);

    const raw = await raws.open(b.port, 5);
    await raw.connect({ clientId: 'spiller', clean: false, properties: { sessionExpiryInterval: 300 } });
    expect(await drain(raw, 320)).toEqual(Array.from({ length: 320 }, (_, i) => `needle-${String(i).padStart(4, '0')}`));
  });

  it('keeps nothing readable on disk: entries are sealed with a key that only lives in the process', async () => {
    const { b, path } = await start(4 * 1024 * 1024);
    await offlineSubscriber(b, 'sealed');
    await publishAll(b, 200);
    expect(b.broker.stats().messages.spilled).toBeGreaterThan(100);
    expect(readdirSync(path).length).toBeGreaterThan(0);
    expect(filesContain(path, 'needle-0150')).toBe(false);
  });

  it('when the buffer is full too, a v5 publisher gets 0x97 and what was accepted is delivered', async () => {
    const { b } = await start(6 * 1024);
    await offlineSubscriber(b, 'full');
    const codes = await publishAll(b, 200);
    const accepted = codes.filter((c) => c === ReasonCode.Success).length;
    expect(b.broker.stats().messages.dropped).toBe(200 - accepted);
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(200);
    expect(codes.slice(accepted).every((c) => c === ReasonCode.QuotaExceeded)).toBe(true);
    const raw = await raws.open(b.port, 5);
    await raw.connect({ clientId: 'full', clean: false, properties: { sessionExpiryInterval: 300 } });
    expect(await drain(raw, accepted)).toEqual(Array.from({ length: accepted }, (_, i) => `needle-${String(i).padStart(4, '0')}`));
  });

  it('is wiped at open (it gives no durability) and removed at close', async () => {
    const path = join(tempDir(), 'buffer');
    const first = await LevelSpillBuffer.open({ path, maxBytes: 1024 * 1024 });
    await first.append('c', [{ seq: 1, message: { topic: 't', payload: Buffer.from('old'), qos: 1, retain: false }, qos: 1, retain: false }]);
    expect(first.usedBytes).toBeGreaterThan(0);
    await first.close();
    expect(existsSync(path)).toBe(false);
    writeFileSync(join(tempDir(), 'marker'), 'x');
    const again = await LevelSpillBuffer.open({ path, maxBytes: 1024 * 1024 });
    expect(await again.read('c', 0, 10)).toEqual([]);
    await again.close();
  });

  it('a session that ends drops its spilled messages', async () => {
    const { b } = await start(4 * 1024 * 1024);
    await offlineSubscriber(b, 'ender');
    await publishAll(b, 100);
    expect(b.broker.stats().messages.spilled).toBeGreaterThan(50);
    const raw = await raws.open(b.port, 5);
    await raw.connect({ clientId: 'ender', clean: true }); // clean start discards the old session
    expect(b.broker.stats().messages).toMatchObject({ queued: 0, spilled: 0 });
  });
});
