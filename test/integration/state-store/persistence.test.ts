import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Persistence } from '../../../src/config/types.js';
import { stateStoreDecisions } from '../../../src/policy/engine-decisions.js';
import { PolicyHolder } from '../../../src/policy/policy-holder.js';
import { ERR } from '../../../src/services/state-store/constants.js';
import { startStateStore, type StateStoreService } from '../../../src/services/state-store/state-store-service.js';
import type { BrokerStore } from '../../../src/storage/broker-store.js';
import { LevelBrokerStore } from '../../../src/storage/level/level-broker-store.js';
import { MemoryBrokerStore } from '../../../src/storage/memory/memory-broker-store.js';
import { StateStoreTestClient, ts } from '../../helpers/state-store-client.js';
import { startBroker, type RunningBroker } from '../../helpers/start-broker.js';

const BINARY_KEY = Buffer.from([0x00, 0xff, 0x10]);
const policy: Persistence = {
  maxSize: '1G',
  stateStore: {
    mode: 'Custom',
    stateStoreSettings: {
      stateStoreResources: [
        { keyType: 'String', keys: ['exact'] },
        { keyType: 'Pattern', keys: ['persist/*'] },
        { keyType: 'Binary', keys: [BINARY_KEY.toString('base64')] },
      ],
      dynamic: { mode: 'Enabled' },
    },
  },
};

interface Running {
  readonly running: RunningBroker;
  readonly service: StateStoreService;
}

const live: Running[] = [];
const dirs: string[] = [];

/** One broker "process": a broker on `store` with the state store persisting per `policy`. */
async function boot(store: BrokerStore): Promise<Running> {
  const running = await startBroker({ store });
  const { persistStateStoreKey } = stateStoreDecisions(new PolicyHolder(policy));
  const service = startStateStore(running.broker, { persistence: { store, decide: persistStateStoreKey } });
  await service.ready;
  const r = { running, service };
  live.push(r);
  return r;
}

async function shutdown(r: Running): Promise<void> {
  live.splice(live.indexOf(r), 1);
  r.service.stop();
  await r.running.stop();
}

afterEach(async () => {
  for (const r of live.splice(0)) {
    r.service.stop();
    await r.running.stop();
  }
});
afterAll(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const stores: [string, () => Promise<() => Promise<BrokerStore>>][] = [
  ['MemoryBrokerStore', async () => {
    const store = new MemoryBrokerStore();
    return async () => store;
  }],
  ['LevelBrokerStore', async () => {
    const path = await mkdtemp(join(tmpdir(), 'ops-ss-persist-'));
    dirs.push(path);
    return () => LevelBrokerStore.open({ path });
  }],
];

describe.each(stores)('state store persistence across a restart (%s)', (_name, makeOpener) => {
  it('a persisted PX key comes back with its version and fencing token and expires on time; memory-only keys do not come back', async () => {
    const open = await makeOpener();
    let r = await boot(await open());
    let c = await StateStoreTestClient.connect(r.running);
    const ft = ts('locker');
    const setAt = Date.now();
    const set = await c.invoke(['SET', 'persist/lock', 'holder', 'PX', '1500'], { __ts: ts(), __ft: ft });
    expect(set.text).toBe('+OK\r\n');
    expect((await c.invoke(['SET', 'exact', 'e'])).text).toBe('+OK\r\n');
    expect((await c.invoke(['SET', BINARY_KEY, 'b'])).text).toBe('+OK\r\n');
    expect((await c.invoke(['SET', 'memory-only', 'm'])).text).toBe('+OK\r\n');
    expect((await c.invoke(['SET', 'persist/gone', 'g'])).text).toBe('+OK\r\n');
    expect((await c.invoke(['DEL', 'persist/gone'])).text).toBe(':1\r\n');
    await shutdown(r);

    r = await boot(await open());
    expect(r.service.keyCount).toBe(3);
    c = await StateStoreTestClient.connect(r.running);
    const got = await c.invoke(['GET', 'persist/lock']);
    expect(got.text).toBe('$6\r\nholder\r\n');
    expect(got.ts).toBe(set.ts);
    expect((await c.invoke(['GET', 'exact'])).text).toBe('$1\r\ne\r\n');
    expect((await c.invoke(['GET', BINARY_KEY])).text).toBe('$1\r\nb\r\n');
    expect((await c.invoke(['GET', 'memory-only'])).text).toBe('$-1\r\n');
    expect((await c.invoke(['GET', 'persist/gone'])).text).toBe('$-1\r\n');
    // the fencing token still protects the key
    expect((await c.invoke(['SET', 'persist/lock', 'x'], { __ts: ts() })).text).toBe(`-ERR ${ERR.fencingTokenRequired}\r\n`);
    expect((await c.invoke(['DEL', 'persist/lock'], { __ts: ts(), __ft: ts('locker', 1000) })).text).toBe(`-ERR ${ERR.fencingTokenLower}\r\n`);
    // new versions are above the restored ones
    const newer = await c.invoke(['SET', 'exact', 'e2']);
    expect(newer.ts !== undefined && set.ts !== undefined && newer.ts > set.ts).toBe(true);
    // expiry fires with the remaining time, with a DELETE notification
    await c.invoke(['KEYNOTIFY', 'persist/lock']);
    const n = await c.nextNotification(3000);
    const firedAt = Date.now();
    expect(n.text).toBe('*2\r\n$6\r\nNOTIFY\r\n$6\r\nDELETE\r\n');
    expect(firedAt).toBeGreaterThanOrEqual(setAt + 1500 - 5);
    expect(firedAt).toBeLessThan(setAt + 1500 + 700);
    await shutdown(r);

    // the expired key was removed from the store too
    r = await boot(await open());
    c = await StateStoreTestClient.connect(r.running);
    expect((await c.invoke(['GET', 'persist/lock'])).text).toBe('$-1\r\n');
    expect((await c.invoke(['GET', 'exact'])).text).toBe('$2\r\ne2\r\n');
    expect(r.service.keyCount).toBe(2);
  });

  it('dynamic: a SET with aio-persistence=true is persisted; a later memory-only SET of the key drops the stored record', async () => {
    const open = await makeOpener();
    let r = await boot(await open());
    let c = await StateStoreTestClient.connect(r.running);
    expect((await c.invoke(['SET', 'dyn', 'd'], { __ts: ts(), 'aio-persistence': 'true' })).text).toBe('+OK\r\n');
    expect((await c.invoke(['SET', 'dyn-false', 'd'], { __ts: ts(), 'aio-persistence': 'false' })).text).toBe('+OK\r\n');
    expect((await c.invoke(['SET', 'dyn-then-mem', 'd'], { __ts: ts(), 'aio-persistence': 'true' })).text).toBe('+OK\r\n');
    expect((await c.invoke(['SET', 'dyn-then-mem', 'm'])).text).toBe('+OK\r\n');
    await shutdown(r);

    r = await boot(await open());
    c = await StateStoreTestClient.connect(r.running);
    expect((await c.invoke(['GET', 'dyn'])).text).toBe('$1\r\nd\r\n');
    expect((await c.invoke(['GET', 'dyn-false'])).text).toBe('$-1\r\n');
    expect((await c.invoke(['GET', 'dyn-then-mem'])).text).toBe('$-1\r\n');
  });

  it('keys whose expiry passed while the broker was down do not come back', async () => {
    const open = await makeOpener();
    let r = await boot(await open());
    let c = await StateStoreTestClient.connect(r.running);
    expect((await c.invoke(['SET', 'persist/short', 's', 'PX', '200'])).text).toBe('+OK\r\n');
    expect((await c.invoke(['SET', 'persist/long', 'l', 'PX', '60000'])).text).toBe('+OK\r\n');
    await shutdown(r);
    await new Promise((resolve) => setTimeout(resolve, 300));
    r = await boot(await open());
    c = await StateStoreTestClient.connect(r.running);
    expect((await c.invoke(['GET', 'persist/short'])).text).toBe('$-1\r\n');
    expect((await c.invoke(['GET', 'persist/long'])).text).toBe('$1\r\nl\r\n');
    expect(r.service.keyCount).toBe(1);
  });
});

/** A memory store whose state-store writes wait for a gate, or fail. */
class GatedStore extends MemoryBrokerStore {
  gate: Promise<void> | undefined;
  override putStateStoreKey(record: Parameters<MemoryBrokerStore['putStateStoreKey']>[0]): void | Promise<void> {
    const gate = this.gate;
    if (gate === undefined) return super.putStateStoreKey(record);
    return gate.then(() => super.putStateStoreKey(record));
  }
}

describe('state store write-through', () => {
  it('answers a persisted SET only once the write is durable, in request order', async () => {
    const store = new GatedStore();
    const r = await boot(store);
    const c = await StateStoreTestClient.connect(r.running);
    let open: () => void = () => undefined;
    store.gate = new Promise<void>((resolve) => (open = resolve));
    const order: string[] = [];
    const persisted = c.invoke(['SET', 'exact', 'v']).then((x) => order.push(`set:${x.text}`));
    const later = c.invoke(['GET', 'memory-only']).then((x) => order.push(`get:${x.text}`));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(order).toEqual([]);
    open();
    await Promise.all([persisted, later]);
    expect(order).toEqual(['set:+OK\r\n', 'get:$-1\r\n']);
  });

  it('a failed write answers the quota error and leaves the key as it was', async () => {
    const store = new GatedStore();
    const r = await boot(store);
    const c = await StateStoreTestClient.connect(r.running);
    expect((await c.invoke(['SET', 'exact', 'old'])).text).toBe('+OK\r\n');
    store.gate = Promise.reject(new Error('disk full'));
    store.gate.catch(() => undefined);
    expect((await c.invoke(['SET', 'exact', 'new'])).text).toBe(`-ERR ${ERR.quotaExceeded}\r\n`);
    expect((await c.invoke(['SET', 'persist/new', 'x'])).text).toBe(`-ERR ${ERR.quotaExceeded}\r\n`);
    store.gate = undefined;
    expect((await c.invoke(['GET', 'exact'])).text).toBe('$3\r\nold\r\n');
    expect((await c.invoke(['GET', 'persist/new'])).text).toBe('$-1\r\n');
    expect((await store.loadStateStoreKeys()).map((k) => k.value.toString())).toEqual(['old']);
  });
});
