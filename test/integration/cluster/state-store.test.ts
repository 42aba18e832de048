/**
 * The state store across frontends (issue 15, acceptance 7): one state store per cluster, run by the
 * frontend holding the leader lease; clients on every frontend reach it. 3 frontends on 3 Redis
 * masters x 1 replica, every key persisted to the shared store.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareHlc, parseHlc, type Hlc } from '../../../src/shared/hlc-text.js';
import { startInProcessCluster, type InProcessCluster, type InProcessFrontend } from '../../helpers/cluster-in-process.js';
import { redisCli, waitUntil } from '../../helpers/redis-cluster.js';
import { REQUEST_TOPIC } from '../../../src/shared/state-store-wire.js';
import { encodeArray } from '../../../src/services/state-store/resp3-server.js';
import { StateStoreTestClient, ts } from '../../helpers/state-store-client.js';

const LEASE_MS = 2000;
const RENEW_MS = 300;

let cluster: InProcessCluster;
const mqttClients: MqttClient[] = [];

beforeAll(async () => {
  cluster = await startInProcessCluster({ frontends: 3, stateStore: { leaseMs: LEASE_MS, renewMs: RENEW_MS } });
  await waitUntil('a state store leader', async () => cluster.frontends.some((f) => f.stateStore?.leading === true), 10_000);
  for (const f of cluster.frontends) await served(f);
}, 60_000);

afterAll(async () => {
  for (const c of mqttClients) c.end(true);
  await cluster?.stop();
});

/** A `connect` for the state store test client, on one frontend. */
function on(frontend: InProcessFrontend): { connect(options?: IClientOptions): Promise<MqttClient> } {
  return {
    connect: async (options: IClientOptions = {}) => {
      const client = await mqtt.connectAsync({ host: '127.0.0.1', port: frontend.port, reconnectPeriod: 0, connectTimeout: 5000, ...options });
      mqttClients.push(client);
      return client;
    },
  };
}

async function storeClient(frontend: InProcessFrontend, name: string): Promise<StateStoreTestClient> {
  const c = await StateStoreTestClient.connect(on(frontend), `${name}-${Math.random().toString(36).slice(2, 8)}`);
  await c.untilServed(); // its subscriptions reached the leader's frontend (they spread after SUBACK)
  return c;
}

/**
 * Waits until a request published on `frontend` is answered: the leader's subscription reached that
 * frontend's directory view (a request published before is not answered; clients retry, as here).
 */
async function served(frontend: InProcessFrontend): Promise<void> {
  const probe = await StateStoreTestClient.connect(on(frontend), `probe-${Math.random().toString(36).slice(2, 8)}`);
  try {
    await probe.untilServed();
  } finally {
    probe.client.end(true);
  }
}

function leaders(): InProcessFrontend[] {
  return cluster.frontends.filter((f) => f.stateStore?.leading === true);
}

function hlc(text: string | undefined): Hlc {
  const h = text === undefined ? undefined : parseHlc(text);
  if (h === undefined) throw new Error(`not an HLC: ${text}`);
  return h;
}

/** Every request got exactly one response (no frontend but the leader answers). */
function expectOneResponseEach(client: StateStoreTestClient, requests: number): void {
  expect(client.responses.length).toBe(requests);
}

describe('state store across frontends', () => {
  it('exactly one frontend leads; clients on every frontend are served by it, one response per request', async () => {
    expect(leaders()).toHaveLength(1);
    const [a, b, c] = await Promise.all(cluster.frontends.map((f, i) => storeClient(f, `one-${i}`)));
    expect((await a!.invoke(['SET', 'one-key', 'from-a'])).text).toBe('+OK\r\n');
    expect((await b!.invoke(['GET', 'one-key'])).text).toBe('$6\r\nfrom-a\r\n');
    expect((await c!.invoke(['SET', 'one-key', 'from-c', 'NX'])).text).toBe(':-1\r\n');
    expect((await c!.invoke(['SET', 'one-key', 'from-a', 'NEX'])).text).toBe('+OK\r\n');
    expect((await b!.invoke(['VDEL', 'one-key', 'other'])).text).toBe(':-1\r\n');
    expect((await b!.invoke(['VDEL', 'one-key', 'from-a'])).text).toBe(':1\r\n');
    expect((await a!.invoke(['GET', 'one-key'])).text).toBe('$-1\r\n');
    // A repeated request (same correlation data) from a client on a non-leader frontend is answered from the cache.
    const correlationData = Buffer.from('0123456789abcdef', 'hex');
    const first = await c!.invoke(['SET', 'dup-key', 'v1', 'NX'], { __ts: ts() }, { correlationData });
    const again = await c!.invoke(['SET', 'dup-key', 'v1', 'NX'], { __ts: ts() }, { correlationData });
    expect(first.text).toBe('+OK\r\n');
    expect(again.text).toBe('+OK\r\n'); // not :-1: the first response, from the duplicate-request cache
    expect(again.ts).toBe(first.ts);
    expectOneResponseEach(a!, 2);
    expectOneResponseEach(b!, 3);
    expectOneResponseEach(c!, 4);
  });

  it('a lease lock contended by holders on 3 frontends: at most one holder at a time, fencing tokens strictly increase', async () => {
    const holders = await Promise.all(cluster.frontends.map((f, i) => storeClient(f, `holder-${i}`)));
    let holding = 0;
    let maxHolding = 0;
    const tokens: Hlc[] = [];
    const rounds = 8;
    const run = async (client: StateStoreTestClient, name: string): Promise<void> => {
      let acquired = 0;
      while (acquired < rounds) {
        const reply = await client.invoke(['SET', 'lock', name, 'NX', 'PX', '10000']);
        if (reply.text === ':-1\r\n') {
          await new Promise<void>((resolve) => setImmediate(resolve)); // contended: try again
          continue;
        }
        expect(reply.text).toBe('+OK\r\n');
        holding++;
        maxHolding = Math.max(maxHolding, holding);
        const token = hlc(reply.ts);
        tokens.push(token);
        // The protected resource accepts the holder's token (and the lock holds its name).
        const write = await client.invoke(['SET', 'protected', `${name}:${acquired}`], { __ts: ts(), __ft: reply.ts! });
        expect(write.text).toBe('+OK\r\n');
        expect((await client.invoke(['GET', 'lock'])).text).toBe(`$${name.length}\r\n${name}\r\n`);
        acquired++;
        holding--;
        expect((await client.invoke(['VDEL', 'lock', name])).text).toBe(':1\r\n');
      }
    };
    await Promise.all(holders.map((h, i) => run(h, `h${i}`)));
    expect(maxHolding).toBe(1);
    expect(tokens).toHaveLength(3 * rounds);
    for (let i = 1; i < tokens.length; i++) expect(compareHlc(tokens[i]!, tokens[i - 1]!)).toBeGreaterThan(0);
    // A stale holder's token is refused by the protected resource.
    const stale = await holders[0]!.invoke(['SET', 'protected', 'late'], { __ts: ts(), __ft: `${tokens[0]!.wall}:${tokens[0]!.counter}:${tokens[0]!.node}` });
    expect(stale.text).toBe('-ERR the request fencing token is a lower version than the fencing token protecting the resource\r\n');
  }, 60_000);

  it('KEYNOTIFY registered on one frontend fires for a SET on another', async () => {
    const [a, b, c] = await Promise.all(cluster.frontends.map((f, i) => storeClient(f, `notify-${i}`)));
    for (const observer of [a!, c!]) expect((await observer.invoke(['KEYNOTIFY', 'watched'])).text).toBe('+OK\r\n');
    expect((await b!.invoke(['SET', 'watched', 'hello'])).text).toBe('+OK\r\n');
    for (const observer of [a!, c!]) {
      const n = await observer.nextNotification();
      expect(n.topic).toBe(observer.notifyTopic('watched'));
      expect(n.text).toBe('*4\r\n$6\r\nNOTIFY\r\n$3\r\nSET\r\n$5\r\nVALUE\r\n$5\r\nhello\r\n');
    }
    expect((await b!.invoke(['DEL', 'watched'])).text).toBe(':1\r\n');
    for (const observer of [a!, c!]) expect((await observer.nextNotification()).text).toBe('*2\r\n$6\r\nNOTIFY\r\n$6\r\nDELETE\r\n');
    expect(b!.queuedNotifications).toBe(0);
  });

  it('a PX expiry notifies each observer exactly once, with 3 frontends', async () => {
    const observers = await Promise.all(cluster.frontends.map((f, i) => storeClient(f, `expiry-${i}`)));
    for (const o of observers) expect((await o.invoke(['KEYNOTIFY', 'short-lived'])).text).toBe('+OK\r\n');
    expect((await observers[1]!.invoke(['SET', 'short-lived', 'v', 'PX', '300'])).text).toBe('+OK\r\n');
    for (const o of observers) expect((await o.nextNotification()).text).toContain('SET');
    for (const o of observers) expect((await o.nextNotification()).text).toBe('*2\r\n$6\r\nNOTIFY\r\n$6\r\nDELETE\r\n');
    // A later change is the next notification everywhere: no second expiry came before it (one leader, FIFO per frontend).
    expect((await observers[2]!.invoke(['SET', 'short-lived', 'after'])).text).toBe('+OK\r\n');
    for (const o of observers) {
      const next = await o.nextNotification();
      expect(next.text).toContain('after');
      expect(o.queuedNotifications).toBe(0);
    }
  });

  it('a leader whose lease another holder took steps down: nobody answers until a frontend takes the lease again', async () => {
    const [old] = leaders();
    if (old === undefined) throw new Error('no leader');
    const home = cluster.frontends.find((f) => f !== old)!;
    const client = await storeClient(home, 'stolen');
    const before = await client.invoke(['SET', 'stolen-key', 'v']);
    expect(before.text).toBe('+OK\r\n');
    // Another holder (not a frontend) takes the lease: the leader's compare-and-renew fails.
    const port = Number(cluster.redis.seeds[0]!.split(':')[1]);
    expect((await redisCli(port, '-c', 'SET', 'ssl:{statestore}', 'someone-else', 'PX', '1500')).trim()).toBe('OK');
    await waitUntil('the leader to step down', async () => leaders().length === 0, 5000);
    // No frontend answers meanwhile (the request has no subscriber, or reaches a stopped service).
    client.client.publish(REQUEST_TOPIC, encodeArray(['GET', 'stolen-key']), {
      qos: 1,
      properties: { responseTopic: client.responseTopic, correlationData: Buffer.from('gap'), userProperties: { __ts: ts() } },
    });
    await waitUntil('a frontend to lead again', async () => leaders().length === 1, 10_000);
    await served(home);
    const after = await client.invoke(['GET', 'stolen-key']);
    expect(after.text).toBe('$1\r\nv\r\n');
    const written = await client.invoke(['SET', 'stolen-key', 'w']);
    expect(compareHlc(hlc(written.ts), hlc(before.ts))).toBeGreaterThan(0);
    expect(client.responses.map((r) => r.packet.properties?.correlationData?.toString())).not.toContain('gap');
    expect(client.responses).toHaveLength(3);
  }, 30_000);

  it('the leader stops: another frontend serves the state store within the lease bound, with the persisted keys and higher fencing tokens', async () => {
    const [old] = leaders();
    if (old === undefined) throw new Error('no leader');
    const survivors = cluster.frontends.filter((f) => f !== old);
    const client = await storeClient(survivors[0]!, 'failover');
    const before = await client.invoke(['SET', 'kept', 'persisted-value']);
    expect(before.text).toBe('+OK\r\n');
    const lock = await client.invoke(['SET', 'fo-lock', 'me', 'NX', 'PX', '60000']);
    expect(lock.text).toBe('+OK\r\n');
    const started = Date.now();
    await old.stop();
    await waitUntil('a new state store leader', async () => survivors.some((f) => f.stateStore?.leading === true), LEASE_MS + 5 * RENEW_MS + 2000);
    expect(leaders()).toHaveLength(1);
    await served(survivors[0]!);
    // Served again (the client's own frontend forwards to the new leader).
    const got = await client.invoke(['GET', 'kept']);
    expect(got.text).toBe('$15\r\npersisted-value\r\n');
    expect(Date.now() - started).toBeLessThan(LEASE_MS + 5 * RENEW_MS + 2000);
    // The lock persisted with its PX: still held; its fencing token still protects; new tokens are higher.
    expect((await client.invoke(['SET', 'fo-lock', 'other', 'NX', 'PX', '1000'])).text).toBe(':-1\r\n');
    expect((await client.invoke(['VDEL', 'fo-lock', 'me'])).text).toBe(':1\r\n');
    const after = await client.invoke(['SET', 'fo-lock', 'next', 'NX', 'PX', '60000']);
    expect(after.text).toBe('+OK\r\n');
    expect(compareHlc(hlc(after.ts), hlc(lock.ts))).toBeGreaterThan(0);
    expect(compareHlc(hlc(after.ts), hlc(before.ts))).toBeGreaterThan(0);
  }, 60_000);
});
