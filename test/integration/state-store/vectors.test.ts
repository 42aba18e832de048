import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStateStore, type StateStoreService } from '../../../src/services/state-store/state-store-service.js';
import { StateStoreTestClient, ts } from '../../helpers/state-store-client.js';
import { startBroker, type RunningBroker } from '../../helpers/start-broker.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
let running: RunningBroker;
let service: StateStoreService;
let c: StateStoreTestClient;

beforeAll(async () => {
  running = await startBroker();
  service = startStateStore(running.broker);
  c = await StateStoreTestClient.connect(running);
});
afterAll(async () => {
  service.stop();
  await running.stop();
});

const TS_FORMAT = /^\d{15}:\d{5}:[^:]+$/;

describe('state store request vectors (state-store-protocol.md §7.1) through MQTT v5', () => {
  it('R1..R17 get the documented replies byte for byte, with __stat=200, correlation data and content type', async () => {
    const vectors: [string, string, string, boolean][] = [
      ['R1', '*3\r\n$3\r\nSET\r\n$7\r\nSETKEY2\r\n$6\r\nVALUE5\r\n', '+OK\r\n', true],
      ['R2', '*2\r\n$3\r\nGET\r\n$7\r\nSETKEY2\r\n', '$6\r\nVALUE5\r\n', true],
      ['R4', '*3\r\n$4\r\nVDEL\r\n$7\r\nSETKEY2\r\n$3\r\nABC\r\n', ':-1\r\n', true],
      ['R3', '*2\r\n$3\r\nDEL\r\n$7\r\nSETKEY2\r\n', ':1\r\n', true],
      ['R3 again', '*2\r\n$3\r\nDEL\r\n$7\r\nSETKEY2\r\n', ':0\r\n', false],
      ['R5', '*3\r\n$3\r\nSET\r\n$7\r\ntestkey\r\n$9\r\ntestvalue\r\n', '+OK\r\n', true],
      ['R6', '*4\r\n$3\r\nSET\r\n$7\r\ntestkey\r\n$9\r\ntestvalue\r\n$2\r\nNX\r\n', ':-1\r\n', true],
      ['R7', '*4\r\n$3\r\nSET\r\n$7\r\ntestkey\r\n$9\r\ntestvalue\r\n$3\r\nNEX\r\n', '+OK\r\n', true],
      ['R8', '*5\r\n$3\r\nSET\r\n$7\r\ntestkey\r\n$9\r\ntestvalue\r\n$2\r\nPX\r\n$2\r\n10\r\n', '+OK\r\n', true],
      ['R9', '*3\r\n$3\r\nSET\r\n$0\r\n\r\n$0\r\n\r\n', '-ERR the key length is zero\r\n', false],
      ['R10 VDEL', '*3\r\n$4\r\nVDEL\r\n$7\r\nnokey00\r\n$9\r\ntestvalue\r\n', ':0\r\n', false],
      ['R11', '*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n', '+OK\r\n', true],
      ['R12', '*6\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n$2\r\nNX\r\n$2\r\nPX\r\n$4\r\n1000\r\n', ':-1\r\n', true],
      ['R13', '*6\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n$3\r\nNEX\r\n$2\r\nPX\r\n$4\r\n1000\r\n', '+OK\r\n', true],
      ['R14', '*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$0\r\n\r\n', '+OK\r\n', true],
      ['R14 GET (P4)', '*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n', '$0\r\n\r\n', true],
      ['R15', '*2\r\n$9\r\nKEYNOTIFY\r\n$7\r\nSOMEKEY\r\n', '+OK\r\n', false],
      ['R16', '*3\r\n$9\r\nKEYNOTIFY\r\n$7\r\nSOMEKEY\r\n$4\r\nSTOP\r\n', '+OK\r\n', false],
      ['R17', '*6\r\n$3\r\nSET\r\n$8\r\nLockName\r\n$7\r\nClient1\r\n$3\r\nNEX\r\n$2\r\nPX\r\n$5\r\n10000\r\n', '+OK\r\n', true],
      ['R18 (SCAN not implemented)', '*2\r\n$4\r\nSCAN\r\n$4\r\nkey*\r\n', '-ERR unknown command\r\n', false],
    ];
    for (const [id, request, expected, hasTs] of vectors) {
      const correlationData = Buffer.from(`0123456789abcdef${id}`.slice(-16));
      const reply = await c.invoke(b(request), { __ts: ts(), __protVer: '1.0', __srcId: c.clientId, $partition: c.clientId }, { correlationData });
      expect([id, reply.text]).toEqual([id, expected]);
      expect(reply.stat).toBe('200');
      expect(reply.packet.properties?.correlationData).toEqual(correlationData);
      expect(reply.packet.properties?.contentType).toBe('application/octet-stream');
      expect([id, reply.ts !== undefined]).toEqual([id, hasTs]);
      if (hasTs) expect(reply.ts).toMatch(TS_FORMAT);
    }
    expect(service.keyCount).toBeGreaterThan(0);
  });

  it('B1 CRUD: GET has the SET version, GET miss has no __ts', async () => {
    const set = await c.invoke(['SET', 'b1', 'v']);
    expect(set.text).toBe('+OK\r\n');
    const get = await c.invoke(['GET', 'b1']);
    expect([get.text, get.ts]).toEqual(['$1\r\nv\r\n', set.ts]);
    expect((await c.invoke(['DEL', 'b1'])).text).toBe(':1\r\n');
    const miss = await c.invoke(['GET', 'b1']);
    expect([miss.text, miss.ts, miss.stat]).toEqual(['$-1\r\n', undefined, '200']);
  });

  it('B3 conditional set returns the stored version on :-1; B5/B6 conditional delete', async () => {
    const first = await c.invoke(['SET', 'b3', 'v1', 'NX']);
    const again = await c.invoke(['SET', 'b3', 'v1', 'NX']);
    expect([again.text, again.ts]).toEqual([':-1\r\n', first.ts]);
    expect((await c.invoke(['SET', 'b3', 'v2', 'NEX'])).text).toBe(':-1\r\n');
    expect((await c.invoke(['SET', 'b3', 'v1', 'NEX'])).text).toBe('+OK\r\n');
    expect((await c.invoke(['VDEL', 'b3', 'other'])).text).toBe(':-1\r\n');
    expect((await c.invoke(['VDEL', 'b3', 'v1'])).text).toBe(':1\r\n');
    expect((await c.invoke(['VDEL', 'b3', 'v1'])).text).toBe(':0\r\n');
    expect((await c.invoke(['GET', 'b6'])).text).toBe('$-1\r\n');
    expect((await c.invoke(['DEL', 'b6'])).text).toBe(':0\r\n');
  });

  it('B9 large key and value; binary keys and values', async () => {
    const key = 'k'.repeat(6500);
    expect((await c.invoke(['SET', key, 'v'])).text).toBe('+OK\r\n');
    const value = Buffer.alloc(65_000, 0x61);
    expect((await c.invoke(['SET', 'big', value])).text).toBe('+OK\r\n');
    expect((await c.invoke(['GET', 'big'])).payload).toEqual(Buffer.concat([b('$65000\r\n'), value, b('\r\n')]));
    const bin = Buffer.from([0x6b, 0x00, 0xff, 0x0d, 0x0a]);
    expect((await c.invoke(['SET', bin, bin])).text).toBe('+OK\r\n');
    expect((await c.invoke(['GET', bin])).payload).toEqual(Buffer.concat([b('$5\r\n'), bin, b('\r\n')]));
  });

  it('B14 fencing and B18-B21 error strings', async () => {
    const f0 = ts('c', Date.now() - 1000);
    const one = await c.invoke(['SET', 'b14', 'v3', 'PX', '10000'], { __ts: ts(), __ft: f0 });
    expect(one.text).toBe('+OK\r\n');
    const two = await c.invoke(['SET', 'b14', 'v4', 'PX', '10000'], { __ts: ts(), __ft: one.ts! });
    expect(two.text).toBe('+OK\r\n');
    const e2 = '-ERR a fencing token is required for this request\r\n';
    expect((await c.invoke(['SET', 'b14', 'v5'])).text).toBe(e2);
    expect((await c.invoke(['GET', 'b14'])).text).toBe('$2\r\nv4\r\n');
    expect((await c.invoke(['DEL', 'b14'])).text).toBe(e2);
    expect((await c.invoke(['VDEL', 'b14', 'v4'])).text).toBe(e2);
    expect((await c.invoke(['DEL', 'b14'], { __ts: ts(), __ft: f0 })).text).toBe(
      '-ERR the request fencing token is a lower version than the fencing token protecting the resource\r\n',
    );
    expect((await c.invoke(['DEL', 'b14'], { __ts: ts(), __ft: two.ts! })).text).toBe(':1\r\n');
    const future = `${Date.now() + 10 * 365 * 86_400_000}:0:c`;
    expect((await c.invoke(['SET', 'b18', 'v'], { __ts: ts(), __ft: future })).text).toBe(
      '-ERR the request fencing token timestamp is too far in the future; ensure that the client and broker system clocks are synchronized\r\n',
    );
    expect((await c.invoke(['SET', 'b19', 'v'], { __ts: ts('c', Date.now() + 120_000) })).text).toBe(
      '-ERR the request timestamp is too far in the future; ensure that the client and broker system clocks are synchronized\r\n',
    );
    const e6 = '-ERR syntax error\r\n';
    expect((await c.invoke(['SET', 'b20', 'v'], {})).text).toBe('-ERR missing timestamp\r\n');
    expect((await c.invoke(['SET', 'b20', 'v'], { __ts: 'abc' })).text).toBe('-ERR malformed timestamp\r\n');
    expect((await c.invoke(['SET', 'b20', 'v'], { __ts: ts(), __ft: '1:2' })).text).toBe('-ERR malformed timestamp\r\n');
    expect((await c.invoke(['PING'])).text).toBe('-ERR unknown command\r\n');
    expect((await c.invoke(b('*1\r\n$3\r\nGET\r\n'))).text).toBe('-ERR wrong number of arguments\r\n');
    expect((await c.invoke(b('*2\r\n$3\r\nGET\r\n$5\r\nab\r\n'))).text).toBe(e6);
    expect((await c.invoke(['SET', 'b21', 'v', 'PX', 'abc'])).text).toBe(e6);
    expect((await c.invoke(['GET', ''])).text).toBe('-ERR the key length is zero\r\n');
  });
});

describe('B22: the docs HLC example with a frozen server clock', () => {
  it('SET keyName value at 1696374425000:0:Client1 gives 1696374425000:1:<node>, GET returns the same', async () => {
    const frozen = await startBroker();
    const store = startStateStore(frozen.broker, { now: () => 1696374425000, nodeId: 'StateStore' });
    try {
      const client = await StateStoreTestClient.connect(frozen, 'Client1');
      const set = await client.invoke(['SET', 'keyName', 'value'], { __ts: '1696374425000:0:Client1' });
      expect([set.text, set.ts]).toEqual(['+OK\r\n', '001696374425000:00001:StateStore']);
      const get = await client.invoke(['GET', 'keyName'], { __ts: '1696374425000:0:Client1' });
      expect([get.text, get.ts]).toEqual(['$5\r\nvalue\r\n', '001696374425000:00001:StateStore']);
    } finally {
      store.stop();
      await frozen.stop();
    }
  });
});
