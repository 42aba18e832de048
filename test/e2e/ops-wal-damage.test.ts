/**
 * A damaged write-ahead log through the real `ops`: 3,000 QoS 1 messages
 * PUBACKed to an offline persistent session, kill -9, the newest LevelDB `.log` cut or a bit
 * flipped: `ops broker start` refuses with STO_LOG_DAMAGED (exit 3, the broker's exit 5) and
 * touches no file of the store; `--repair` starts, reports exactly what was lost (stdout, -o json,
 * broker.log) and delivers what survived, in order; later starts are normal. A kill -9 without
 * damage starts normally with nothing lost.
 */
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreRepairReport } from '../../src/shared/store-repair.js';
import { readAckedMark } from '../../src/storage/level/wal/acked-mark-file.js';
import { LOG_BLOCK_BYTES } from '../../src/storage/level/wal/log-reader.js';
import { eventually, makeOpsHome, OPS_BIN, portOf, type OpsHome } from '../helpers/cli-ops.js';
import { brokerPid, kill9, persistent, record } from '../helpers/cli-persistence.js';
import { dirSnapshot, newestLog } from '../helpers/raw-level.js';

const MESSAGES = 3000;
const INSTANCES = ['cut', 'flip', 'sound'];

interface Started {
  pid: number;
  ports: Array<{ listener: string; port: number }>;
  storeRepair?: StoreRepairReport;
}

let h: OpsHome;
const port: Record<string, number> = {};
const storeOf = (instance: string): string => join(h.home, instance, 'data', 'store');

beforeAll(async () => {
  h = await makeOpsHome();
  const file = join(h.home, 'persisted.json');
  await writeFile(file, JSON.stringify({ persistence: { maxSize: '1Gi', subscriberQueue: { mode: 'All' } }, diagnostics: { metrics: { prometheusPort: 0 } } }));
  await Promise.all(
    INSTANCES.map(async (name) => {
      port[name] = portOf(await h.json<Started>('create', '--instance', name, '--port', '0', '--secure-port', '0', '--broker-config-file', file));
    }),
  );
}, 30_000);
afterAll(async () => {
  await h.cleanup();
});

/**
 * `MESSAGES` QoS 1 messages `M-0...` PUBACKed to the offline persistent session `wal-sub`, the
 * store's acknowledged mark caught up with them (so the loss is known exactly), then kill -9.
 */
async function acknowledgedThenKilled(instance: string): Promise<void> {
  const sub = await persistent(port[instance] as number, 'wal-sub');
  await sub.client.subscribeAsync('wal/t', { qos: 1 });
  await sub.end();
  const pub = await record(port[instance] as number, 'wal-pub');
  for (let next = 0; next < MESSAGES; ) {
    const window: Promise<unknown>[] = [];
    for (let i = 0; i < 100 && next < MESSAGES; i++) window.push(pub.client.publishAsync('wal/t', `M-${next++}`, { qos: 1 }));
    await Promise.all(window);
  }
  await pub.end();
  const caughtUp = await eventually(async () => {
    const acked = await readAckedMark(storeOf(instance));
    return acked.kind === 'valid' && acked.value.mark.total >= MESSAGES;
  }, 10_000);
  expect(caughtUp).toBe(true);
  await kill9(await brokerPid(h.home, instance));
}

/** `ops broker start` refuses with STO_LOG_DAMAGED naming the log, and no file of the store changed. */
async function refusedUntouched(instance: string, log: string): Promise<void> {
  const before = await dirSnapshot(storeOf(instance));
  const refused = await h.ops('broker', 'start', '--instance', instance);
  expect(refused.exitCode).toBe(3);
  expect(refused.stderr).toMatch(/exit code 5: STO_LOG_DAMAGED: The store at .* has a damaged write-ahead log: /);
  expect(refused.stderr).toContain(log.slice(storeOf(instance).length + 1));
  expect(refused.stderr).toMatch(/would be lost/);
  expect(await dirSnapshot(storeOf(instance))).toEqual(before);
  expect((await h.ops('broker', 'status', '--instance', instance)).stdout).toContain('stopped');
}

/** What `wal-sub` gets once it reconnects: every queued message, up to a marker published after. */
async function delivered(instance: string): Promise<number[]> {
  const sub = await persistent(port[instance] as number, 'wal-sub');
  expect(sub.sessionPresent).toBe(true);
  const pub = await record(port[instance] as number, 'wal-marker');
  await pub.client.publishAsync('wal/t', 'MARKER', { qos: 1 });
  await pub.end();
  await sub.until((got) => got.some((m) => m.payload === 'MARKER'), 20_000);
  await sub.end();
  const got = sub.received.map((m) => m.payload).filter((p) => p !== 'MARKER');
  return got.map((p) => Number(p.slice(2)));
}

describe('ops broker start on a damaged write-ahead log', { timeout: 90_000 }, () => {
  it('a log cut in half after kill -9: refused untouched; --repair -o json reports the loss and the surviving messages are delivered in order', async () => {
    await acknowledgedThenKilled('cut');
    const log = await newestLog(storeOf('cut'));
    await truncate(log, Math.floor((await readFile(log)).length / 2));
    await refusedUntouched('cut', log);

    const repaired = await h.json<Started>('broker', 'start', '--instance', 'cut', '--repair');
    port['cut'] = portOf(repaired);
    const report = repaired.storeRepair;
    expect(report?.repaired).toBe(true);
    expect(report?.findings[0]?.file).toBe(log.slice(storeOf('cut').length + 1));
    expect(report?.lostMessages).toBeGreaterThan(MESSAGES / 4);
    const got = await delivered('cut');
    expect(got).toEqual(Array.from({ length: MESSAGES - (report?.lostMessages ?? 0) }, (_, i) => i)); // the first ones, in order
    expect(await readFile(join(h.home, 'cut', 'broker.log'), 'utf8')).toContain('store repaired: write-ahead log damaged');

    await h.ops('broker', 'stop', '--instance', 'cut');
    const normal = await h.json<Started>('broker', 'start', '--instance', 'cut');
    expect(normal.storeRepair).toBeUndefined();
  });

  it('a bit flipped in the log after kill -9: refused untouched; --repair prints the loss and the other messages are delivered', async () => {
    await acknowledgedThenKilled('flip');
    const log = await newestLog(storeOf('flip'));
    const bytes = await readFile(log);
    const at = Math.floor(bytes.length / 2 / LOG_BLOCK_BYTES) * LOG_BLOCK_BYTES + 1000; // inside a record
    bytes[at] = (bytes[at] as number) ^ 0x04;
    await writeFile(log, bytes);
    await refusedUntouched('flip', log);

    const repaired = await h.ops('broker', 'start', '--instance', 'flip', '--repair');
    expect(repaired.exitCode).toBe(0);
    const lost = /lost (\d+) write batch\(es\) with (\d+) queued message\(s\)/.exec(repaired.stdout);
    expect(lost, repaired.stdout).not.toBeNull();
    expect(repaired.stdout).toMatch(/damaged: \d+\.log at byte \d+: (checksum mismatch|bad record length)/);
    const lostMessages = Number(lost?.[2]);
    expect(lostMessages).toBeGreaterThan(0);
    port['flip'] = portOf(await h.json<Started>('broker', 'status', '--instance', 'flip'));
    const got = await delivered('flip');
    expect(got.length).toBe(MESSAGES - lostMessages);
    expect(got).toEqual([...got].sort((a, b) => a - b)); // in order; the lost ones are one range
    const missing = Array.from({ length: MESSAGES }, (_, i) => i).filter((i) => !got.includes(i));
    expect((missing.at(-1) ?? 0) - (missing[0] ?? 0) + 1).toBe(missing.length);
  });

  it('kill -9 without damage: a normal start, nothing lost; ops broker run --repair on a sound store says so and runs', async () => {
    await acknowledgedThenKilled('sound');
    const started = await h.json<Started>('broker', 'start', '--instance', 'sound');
    expect(started.storeRepair).toBeUndefined();
    port['sound'] = portOf(started);
    expect(await delivered('sound')).toEqual(Array.from({ length: MESSAGES }, (_, i) => i));

    expect((await h.ops('broker', 'stop', '--instance', 'sound')).exitCode).toBe(0);
    const child = execa(process.execPath, [OPS_BIN, 'broker', 'run', '--instance', 'sound', '--repair'], {
      env: { OPS_HOME: h.home, NO_COLOR: '1' },
      reject: false,
      stdin: 'ignore',
      timeout: 30_000,
    });
    try {
      const status = await eventually(async () => {
        const s = await h.json<Started & { running: boolean }>('broker', 'status', '--instance', 'sound');
        return s.running && s.ports ? s : undefined;
      }, 15_000);
      expect(status).toBeDefined();
      child.kill('SIGTERM');
      const result = await child;
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain('store repair asked for: nothing is damaged, nothing lost');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
