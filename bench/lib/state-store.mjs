// Scenario (g): state store SET and GET round trips per second, 10 concurrent clients, a small
// in-flight window per client. Ours: raw MQTT v5 clients (hand-encoded PUBLISH) sending state store requests
// (response topic + correlation data + __ts) to the broker's state store, keys in memory.
// redis-server (when on PATH): the same generator style over raw TCP speaking RESP SET/GET.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import mqttPacket from 'mqtt-packet';
import { freePort } from './brokers.mjs';
import { T_CONNACK, T_DISCONNECT, T_PUBLISH, T_SUBACK } from './client.mjs';
import { readCpuSeconds, sleep, spawnTracked, which } from './proc.mjs';

const { generate } = mqttPacket;
const REQUEST_TOPIC = 'statestore/v1/FA9AE35F-2F64-47CD-9BFF-08E2B32A0FE8/command/invoke';
const CLIENTS = 10;
// BENCH_G_WINDOW: requests in flight per client (default 4).
const WINDOW = Number(process.env.BENCH_G_WINDOW || 4);
const KEYS_PER_CLIENT = 100;
const VALUE = Buffer.alloc(16, 0x76);

const bulk = (b) => Buffer.concat([Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n')]);
/** A RESP array of bulk strings (what both the state store and redis take). */
function respArray(parts) {
  return Buffer.concat([Buffer.from(`*${parts.length}\r\n`), ...parts.map((p) => bulk(Buffer.from(p)))]);
}
const keyOf = (client, n) => `bench-g-${client}-${n % KEYS_PER_CLIENT}`;
const requestOf = (op, client, n) => (op === 'SET' ? respArray(['SET', keyOf(client, n), VALUE]) : respArray(['GET', keyOf(client, n)]));

/** The RESP SET and GET payloads of one client's keys, built once. */
function clientPayloads(index) {
  const payloads = { SET: [], GET: [] };
  for (let n = 0; n < KEYS_PER_CLIENT; n++) {
    payloads.SET.push(requestOf('SET', index, n));
    payloads.GET.push(requestOf('GET', index, n));
  }
  return payloads;
}

/** The counters of one windowed client (MQTT or RESP). */
const clientState = () => ({ done: 0, errors: [], running: false, op: 'SET', seq: 0, inflight: 0, firstReply: {} });

/** Writes what one read caused in one write. */
function writeBatch(sock, batch) {
  if (batch.length === 1) sock.write(batch[0]);
  else if (batch.length > 1) sock.write(Buffer.concat(batch));
}

/** The handle `phases` drives: `start(op)` fills the window of WINDOW requests with `op`, `stop()` lets it run dry. */
function windowedClient(sock, st, sendOne) {
  return {
    st,
    start(op) {
      st.op = op;
      st.running = true;
      for (let i = st.inflight; i < WINDOW; i++) sendOne();
    },
    stop() {
      st.running = false;
    },
    close: () => sock.destroy(),
  };
}

function connectTcp(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    sock.setNoDelay(true);
    sock.once('connect', () => resolve(sock));
    sock.once('error', reject);
  });
}

/** Writes `n` as an MQTT variable byte integer into `out` at `o`; returns the next offset. */
function writeVarInt(out, o, n) {
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out[o++] = b;
  } while (n > 0);
  return o;
}
const varIntLength = (n) => (n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4);

/**
 * The request PUBLISH of one client, encoded by hand (the same bytes mqtt-packet's generate gives:
 * QoS 1, response topic, 4 bytes of correlation data, user property __ts) without building a
 * packet object per request; the RESP payloads of the client's keys are built once.
 */
function requestEncoder(index, clientId, responseTopic) {
  const topic = Buffer.from(REQUEST_TOPIC);
  const rt = Buffer.from(responseTopic);
  const tsName = Buffer.from('__ts');
  const payloads = clientPayloads(index);
  let tsMs = -1;
  let tsBytes = Buffer.alloc(0);
  return (op, n) => {
    const now = Date.now();
    if (now !== tsMs) {
      tsMs = now;
      tsBytes = Buffer.from(`${now}:0:${clientId}`);
    }
    const payload = payloads[op][n % KEYS_PER_CLIENT];
    const props = 3 + rt.length + 3 + 4 + 5 + tsName.length + tsBytes.length;
    const remaining = 2 + topic.length + 2 + varIntLength(props) + props + payload.length;
    const out = Buffer.allocUnsafe(1 + varIntLength(remaining) + remaining);
    out[0] = 0x32; // PUBLISH, QoS 1
    let o = writeVarInt(out, 1, remaining);
    o = out.writeUInt16BE(topic.length, o);
    o += topic.copy(out, o);
    o = out.writeUInt16BE((n % 65000) + 1, o); // packet id
    o = writeVarInt(out, o, props);
    out[o++] = 0x08; // response topic
    o = out.writeUInt16BE(rt.length, o);
    o += rt.copy(out, o);
    out[o++] = 0x09; // correlation data
    o = out.writeUInt16BE(4, o);
    o = out.writeUInt32BE(n >>> 0, o);
    out[o++] = 0x26; // user property __ts
    o = out.writeUInt16BE(tsName.length, o);
    o += tsName.copy(out, o);
    o = out.writeUInt16BE(tsBytes.length, o);
    o += tsBytes.copy(out, o);
    payload.copy(out, o);
    return out;
  };
}

/**
 * One MQTT v5 state store client: keeps WINDOW requests in flight until stopped. Incoming packets
 * are split by a minimal frame reader (PUBLISH: skip topic, packet id and properties to the
 * payload); the PUBACKs and follow-up requests caused by one read leave in one write.
 */
async function mqttClient(port, index) {
  const sock = await connectTcp(port);
  const clientId = `bench-g-${index}`;
  const responseTopic = `bench/g/${index}/response`;
  const encode = requestEncoder(index, clientId, responseTopic);
  const st = clientState();
  let onReady;
  const ready = new Promise((resolve, reject) => {
    onReady = resolve;
    sock.once('error', reject);
  });
  let out = null; // writes collected while handling one read
  const send = (bytes) => (out === null ? sock.write(bytes) : out.push(bytes));
  const sendOne = () => {
    st.inflight++;
    send(encode(st.op, st.seq++));
  };
  const onPublish = (buf, start, end) => {
    const qos = (buf[start] >> 1) & 3;
    let o = start + 1;
    while (buf[o] & 0x80) o++;
    o++;
    o += 2 + buf.readUInt16BE(o); // topic
    let packetId = 0;
    if (qos > 0) {
      packetId = buf.readUInt16BE(o);
      o += 2;
    }
    let props = 0;
    for (let mul = 1; ; mul *= 128) {
      const b = buf[o++];
      props += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) break;
    }
    o += props;
    if (qos > 0) send(Buffer.from([0x40, 0x02, packetId >> 8, packetId & 0xff])); // PUBACK
    st.inflight--;
    if (st.running) st.done++;
    const text = buf.toString('latin1', o, Math.min(o + 40, end));
    st.firstReply[st.op] ??= text;
    if (text.startsWith('-') && st.errors.length < 5) st.errors.push(`${st.op}: ${text.trim()}`);
    if (st.running) sendOne();
  };
  let pending = Buffer.alloc(0);
  sock.on('data', (d) => {
    pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
    out = [];
    let at = 0;
    for (;;) {
      if (pending.length - at < 2) break;
      let remaining = 0;
      let o = at + 1;
      let complete = false;
      for (let mul = 1; o < pending.length && o < at + 5; mul *= 128) {
        const b = pending[o++];
        remaining += (b & 0x7f) * mul;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || o + remaining > pending.length) break;
      const end = o + remaining;
      const type = pending[at] >> 4;
      if (type === T_PUBLISH) onPublish(pending, at, end);
      else if (type === T_CONNACK) send(generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: responseTopic, qos: 1 }] }, { protocolVersion: 5 }));
      else if (type === T_SUBACK) onReady();
      else if (type === T_DISCONNECT && st.errors.length < 5) st.errors.push(`DISCONNECT reason ${pending[o]}`);
      at = end;
    }
    pending = at === pending.length ? Buffer.alloc(0) : pending.subarray(at);
    const batch = out;
    out = null;
    writeBatch(sock, batch);
  });
  sock.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, clientId, keepalive: 0 }, { protocolVersion: 5 }));
  await ready;
  return windowedClient(sock, st, sendOne);
}

/** One RESP client: keeps WINDOW commands in flight until stopped; the commands caused by one read leave in one write. */
async function respClient(port, index) {
  const sock = await connectTcp(port);
  const st = clientState();
  const payloads = clientPayloads(index);
  let out = null;
  const sendOne = () => {
    st.inflight++;
    const bytes = payloads[st.op][st.seq++ % KEYS_PER_CLIENT];
    if (out === null) sock.write(bytes);
    else out.push(bytes);
  };
  let pending = Buffer.alloc(0);
  sock.on('data', (d) => {
    pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
    out = [];
    let at = 0;
    for (;;) {
      const eol = pending.indexOf('\r\n', at);
      if (eol < 0) break;
      let end = eol + 2;
      if (pending[at] === 0x24) {
        const len = Number(pending.toString('latin1', at + 1, eol));
        if (len >= 0) end += len + 2;
        if (end > pending.length) break;
      }
      const text = pending.toString('latin1', at, Math.min(end, at + 40));
      st.firstReply[st.op] ??= text;
      if (pending[at] === 0x2d && st.errors.length < 5) st.errors.push(text.trim());
      at = end;
      st.inflight--;
      if (st.running) {
        st.done++;
        sendOne();
      }
    }
    pending = pending.subarray(at);
    const batch = out;
    out = null;
    writeBatch(sock, batch);
  });
  return windowedClient(sock, st, sendOne);
}

/** SET then GET phases: warm-up, then a measured window each; rates and the server's CPU. */
async function phases(clients, pid, opts) {
  const out = {};
  for (const op of ['SET', 'GET']) {
    for (const c of clients) c.start(op);
    await sleep(opts.warmupMs);
    const d0 = clients.reduce((a, c) => a + c.st.done, 0);
    const c0 = readCpuSeconds(pid);
    const g0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(opts.durationMs);
    const secs = (performance.now() - t0) / 1000;
    const d1 = clients.reduce((a, c) => a + c.st.done, 0);
    const c1 = readCpuSeconds(pid);
    const g = process.cpuUsage(g0);
    for (const c of clients) c.stop();
    await sleep(200);
    out[op] = { perSec: Math.round((d1 - d0) / secs), cpuPct: c0 !== null && c1 !== null ? Math.round(((c1 - c0) / secs) * 100) : null, generatorCpuPct: Math.round(((g.user + g.system) / 1e6 / secs) * 100) };
  }
  return out;
}

async function startRedis() {
  const port = await freePort();
  const child = spawnTracked('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
  child.stdout.resume();
  const deadline = Date.now() + 5000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}): ${stderr.trim()}`);
    try {
      (await connectTcp(port)).destroy();
      return { child, port, pid: child.pid };
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`redis-server not listening after 5 s: ${e.message}`);
      await sleep(20);
    }
  }
}

/** (g) state store SET/GET round trips: an ops-broker build (memory), and redis-server when installed (not for the baseline build). */
export async function stateStoreRoundTrips(broker, opts, ctx) {
  const o = { warmupMs: Math.min(opts.warmupMs, 500), durationMs: opts.durationMs };
  const out = { metrics: {}, notes: [`${CLIENTS} clients, ${WINDOW} requests in flight per client, ${KEYS_PER_CLIENT} keys per client, ${VALUE.length} B values`], errors: [] };
  const bp = await broker.start({ stateStore: true });
  ctx.started.push(bp);
  let clients = [];
  try {
    clients = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => mqttClient(bp.port, i)));
    const r = await phases(clients, bp.pid, o);
    Object.assign(out.metrics, { setPerSec: r.SET.perSec, getPerSec: r.GET.perSec, setCpuPct: r.SET.cpuPct, getCpuPct: r.GET.cpuPct, setGeneratorCpuPct: r.SET.generatorCpuPct, getGeneratorCpuPct: r.GET.generatorCpuPct });
    if (r.SET.generatorCpuPct >= 90) out.notes.push(`generator-bound: the generator used ${r.SET.generatorCpuPct}% of a core during SET (broker ${r.SET.cpuPct}%)`);
    for (const c of clients) out.errors.push(...c.st.errors.map((e) => `ours: ${e}`));
    const first = clients[0]?.st.firstReply ?? {};
    if (!first.SET?.startsWith('+OK')) out.errors.push(`ours: unexpected SET reply ${JSON.stringify(first.SET)}`);
    if (!first.GET?.startsWith('$16')) out.errors.push(`ours: unexpected GET reply ${JSON.stringify(first.GET)}`);
  } finally {
    for (const c of clients) c.close();
    await bp.stop(3000);
  }
  if (broker.baseline) {
    out.notes.push('redis-server is measured with ours only');
    return out;
  }
  if (which('redis-server') === null) {
    out.notes.push('redis-server not on PATH: no redis comparison');
    return out;
  }
  const redis = await startRedis();
  clients = [];
  try {
    clients = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => respClient(redis.port, i)));
    const r = await phases(clients, redis.pid, o);
    Object.assign(out.metrics, { redisSetPerSec: r.SET.perSec, redisGetPerSec: r.GET.perSec, redisSetCpuPct: r.SET.cpuPct, redisGetCpuPct: r.GET.cpuPct });
    for (const c of clients) out.errors.push(...c.st.errors.map((e) => `redis: ${e}`));
    out.metrics.setRatio = r.SET.perSec > 0 ? Math.round((out.metrics.setPerSec / r.SET.perSec) * 100) / 100 : null;
    out.metrics.getRatio = r.GET.perSec > 0 ? Math.round((out.metrics.getPerSec / r.GET.perSec) * 100) / 100 : null;
  } finally {
    for (const c of clients) c.close();
    redis.child.kill('SIGTERM');
    await Promise.race([new Promise((r) => redis.child.once('exit', r)), sleep(2000)]);
    if (redis.child.exitCode === null && redis.child.signalCode === null) redis.child.kill('SIGKILL');
  }
  return out;
}
