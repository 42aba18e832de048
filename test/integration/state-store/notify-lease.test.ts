import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStateStore, type StateStoreService } from '../../../src/services/state-store/state-store-service.js';
import { StateStoreTestClient, ts } from '../../helpers/state-store-client.js';
import { startBroker, type RunningBroker } from '../../helpers/start-broker.js';

const SET_V = (v: string): string => `*4\r\n$6\r\nNOTIFY\r\n$3\r\nSET\r\n$5\r\nVALUE\r\n$${v.length}\r\n${v}\r\n`;
const DELETE = '*2\r\n$6\r\nNOTIFY\r\n$6\r\nDELETE\r\n';
let running: RunningBroker;
let service: StateStoreService;

beforeAll(async () => {
  running = await startBroker();
  service = startStateStore(running.broker);
});
afterAll(async () => {
  service.stop();
  await running.stop();
});

describe('key notifications', () => {
  it('N1/N2/N4 and B10: topic, payloads and __ts byte for byte', async () => {
    const a = await StateStoreTestClient.connect(running, 'client-id1');
    expect((await a.invoke(['KEYNOTIFY', 'SOMEKEY'])).text).toBe('+OK\r\n');
    const set = await a.invoke(['SET', 'SOMEKEY', 'abc']);
    const n1 = await a.nextNotification();
    expect(n1.topic).toBe('clients/statestore/v1/FA9AE35F-2F64-47CD-9BFF-08E2B32A0FE8/636C69656E742D696431/command/notify/534F4D454B4559');
    expect(n1.payload).toEqual(Buffer.from('*4\r\n$6\r\nNOTIFY\r\n$3\r\nSET\r\n$5\r\nVALUE\r\n$3\r\nabc\r\n'));
    expect(n1.ts).toBe(set.ts);
    expect(n1.packet.qos).toBe(1);
    expect(n1.packet.properties?.contentType).toBe('application/octet-stream');
    const del = await a.invoke(['DEL', 'SOMEKEY']);
    const n2 = await a.nextNotification();
    expect([n2.text, n2.payload.length, n2.ts]).toEqual([DELETE, 28, del.ts]);
    expect((await a.invoke(['KEYNOTIFY', 'SOMEKEY', 'STOP'])).text).toBe('+OK\r\n');
  });

  it('B12 ordering and STOP; B13 STOP when not observing', async () => {
    const c = await StateStoreTestClient.connect(running);
    const k = 'b12';
    await c.invoke(['SET', k, 'v1', 'PX', '10000']);
    await c.invoke(['DEL', k]);
    expect((await c.invoke(['KEYNOTIFY', k, 'STOP'])).text).toBe(':0\r\n');
    await c.invoke(['KEYNOTIFY', k]);
    await c.invoke(['SET', k, 'v2']);
    await c.invoke(['DEL', k]);
    await c.invoke(['SET', k, 'v3']);
    expect((await c.invoke(['KEYNOTIFY', k, 'STOP'])).text).toBe('+OK\r\n');
    await c.invoke(['SET', k, 'v4']);
    await c.invoke(['DEL', k]);
    // a marker on another key proves nothing else for b12 was queued before it
    await c.invoke(['KEYNOTIFY', 'marker']);
    await c.invoke(['SET', 'marker', 'm']);
    const got = [await c.nextNotification(), await c.nextNotification(), await c.nextNotification(), await c.nextNotification()];
    expect(got.map((n) => n.text)).toEqual([SET_V('v2'), DELETE, SET_V('v3'), SET_V('m')]);
    expect(got[0]!.topic).toBe(c.notifyTopic(k));
    expect(got[3]!.topic).toBe(c.notifyTopic('marker'));
  });

  it('B11: PX expiry fires on time with a DELETE notification and no further requests', async () => {
    const c = await StateStoreTestClient.connect(running);
    await c.invoke(['KEYNOTIFY', 'exp']);
    const started = Date.now();
    const set = await c.invoke(['SET', 'exp', 'v', 'PX', '300']);
    expect((await c.nextNotification()).text).toBe(SET_V('v'));
    const gone = await c.nextNotification(3000);
    const elapsed = Date.now() - started;
    expect(gone.text).toBe(DELETE);
    expect(gone.ts! > set.ts!).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2500);
    const miss = await c.invoke(['GET', 'exp']);
    expect([miss.text, miss.ts]).toEqual(['$-1\r\n', undefined]);
  });

  it('drops registrations when the registering client disconnects', async () => {
    const id = 'ss-disconnecting';
    const first = await StateStoreTestClient.connect(running, id);
    await first.invoke(['KEYNOTIFY', 'dk']);
    const gone = new Promise<void>((resolve) => {
      const off = running.broker.onClientDisconnected((clientId) => {
        if (clientId === id) {
          off();
          resolve();
        }
      });
    });
    await first.client.endAsync();
    await gone;
    const second = await StateStoreTestClient.connect(running, id);
    await second.invoke(['SET', 'dk', 'x']);
    await second.invoke(['KEYNOTIFY', 'marker2']);
    await second.invoke(['SET', 'marker2', 'm']);
    const n = await second.nextNotification();
    expect(n.topic).toBe(second.notifyTopic('marker2'));
  });
});

describe('lease lock with two contending clients (SET NEX PX + fencing + VDEL + KEYNOTIFY)', () => {
  it('A holds the lock and protects a key; B waits for the DELETE, then takes over', async () => {
    const a = await StateStoreTestClient.connect(running, 'holder-A');
    const b = await StateStoreTestClient.connect(running, 'holder-B');
    const badFt = ts('A', Date.now() - 1);
    expect((await a.invoke(['GET', 'lock'])).text).toBe('$-1\r\n');
    const [ra, rb] = await Promise.all([a.invoke(['SET', 'lock', 'holder-A', 'NEX', 'PX', '10000']), b.invoke(['SET', 'lock', 'holder-B', 'NEX', 'PX', '10000'])]);
    expect([ra.text, rb.text].sort()).toEqual(['+OK\r\n', ':-1\r\n']);
    // make A the holder whichever won (the loser is told so by :-1)
    const [holder, other] = ra.text === '+OK\r\n' ? [a, b] : [b, a];
    const first = ra.text === '+OK\r\n' ? ra : rb;
    expect((await holder.invoke(['GET', 'lock'])).text).toBe(`$8\r\n${holder.clientId}\r\n`);
    const renewed = await holder.invoke(['SET', 'lock', holder.clientId, 'NEX', 'PX', '10000']);
    expect(renewed.text).toBe('+OK\r\n');
    expect(renewed.ts! > first.ts!).toBe(true);
    const ft = renewed.ts!;
    expect((await holder.invoke(['SET', 'shared', 'x'], { __ts: ts(), __ft: ft })).text).toBe('+OK\r\n');
    const e4 = '-ERR the request fencing token is a lower version than the fencing token protecting the resource\r\n';
    expect((await other.invoke(['SET', 'shared', 'y'], { __ts: ts(), __ft: badFt })).text).toBe(e4);
    expect((await other.invoke(['DEL', 'shared'], { __ts: ts(), __ft: badFt })).text).toBe(e4);
    expect((await other.invoke(['VDEL', 'lock', other.clientId])).text).toBe(':-1\r\n');

    expect((await other.invoke(['KEYNOTIFY', 'lock'])).text).toBe('+OK\r\n');
    expect((await other.invoke(['SET', 'lock', other.clientId, 'NEX', 'PX', '10000'])).text).toBe(':-1\r\n');
    expect((await holder.invoke(['VDEL', 'lock', holder.clientId])).text).toBe(':1\r\n');
    expect((await other.nextNotification()).text).toBe(DELETE);
    const taken = await other.invoke(['SET', 'lock', other.clientId, 'NEX', 'PX', '300']);
    expect(taken.text).toBe('+OK\r\n');
    expect((await other.nextNotification()).text).toBe(SET_V(other.clientId));
    // the new holder's token fences out the old holder's
    expect((await other.invoke(['SET', 'shared', 'z'], { __ts: ts(), __ft: taken.ts! })).text).toBe('+OK\r\n');
    expect((await holder.invoke(['SET', 'shared', 'w'], { __ts: ts(), __ft: ft })).text).toBe(e4);
    // B17: the new holder never renews; its lease expires and the watcher sees DELETE
    expect((await other.nextNotification(3000)).text).toBe(DELETE);
    expect((await holder.invoke(['SET', 'lock', holder.clientId, 'NEX', 'PX', '10000'])).text).toBe('+OK\r\n');
    expect((await other.invoke(['DEL', 'shared'], { __ts: ts(), __ft: taken.ts! })).text).toBe(':1\r\n');
  });
});
