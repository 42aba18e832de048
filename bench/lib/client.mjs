// A minimal MQTT 3.1.1 client on raw sockets for load generation.
// Packets are generated with mqtt-packet. Incoming bytes are framed by a small
// hand-written reader (fixed header + remaining length only), so the generator
// spends very little CPU per message; the first bytes of every connection are
// additionally fed through mqtt-packet's full parser to validate what the
// broker sends (topic, payload size, well-formedness).
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import mqttPacket from 'mqtt-packet';

const { generate, parser: createParser } = mqttPacket;

export const T_CONNACK = 2;
export const T_PUBLISH = 3;
export const T_PUBACK = 4;
export const T_SUBACK = 9;
export const T_PINGRESP = 13;
export const T_DISCONNECT = 14;

export const DISCONNECT = generate({ cmd: 'disconnect' });

/** Bytes of a PUBLISH for `topic` with `payload`; for QoS>0 messageId is 1 and can be patched at `pidOffset`. */
export function publishTemplate(topic, payload, qos) {
  const bytes = generate(qos > 0 ? { cmd: 'publish', topic, payload, qos, messageId: 1 } : { cmd: 'publish', topic, payload, qos });
  let i = 1;
  while (bytes[i] & 0x80) i++;
  const headerLen = i + 1;
  const topicLen = Buffer.byteLength(topic);
  const pidOffset = qos > 0 ? headerLen + 2 + topicLen : -1;
  const payloadOffset = headerLen + 2 + topicLen + (qos > 0 ? 2 : 0);
  return { bytes, pidOffset, payloadOffset, length: bytes.length };
}

/** A PUBACK for a packet id, written into buf at off (4 bytes). */
export function writePuback(buf, off, pid) {
  buf[off] = 0x40;
  buf[off + 1] = 2;
  buf[off + 2] = pid >> 8;
  buf[off + 3] = pid & 0xff;
}

const VALIDATE_BYTES = 64 * 1024;

export class RawClient {
  /**
   * @param {object} o
   * @param {number} o.port
   * @param {string} o.clientId
   * @param {number} [o.keepalive]
   * @param {(packet:object)=>string|null} [o.validate] returns an error text for a bad PUBLISH
   * @param {{ca: Buffer}} [o.tls] connect over TLS, trusting `ca`, the server named `localhost`
   */
  constructor(o) {
    this.port = o.port;
    this.clientId = o.clientId;
    this.keepalive = o.keepalive ?? 0;
    // false: MQTT 3.1.1 persistent session (cleanSession=0).
    this.clean = o.clean ?? true;
    this.sessionPresent = null;
    this.connectSentAt = null; // performance.now() when CONNECT was written
    this.validate = o.validate ?? null;
    this.tls = o.tls ?? null;
    this.sock = null;
    this.pending = null;
    this.closed = false;
    this.connected = false;
    this.closeReason = null;
    this.errors = []; // protocol / validation errors seen (capped)
    this.validatedPublishes = 0;
    this._validateLeft = VALIDATE_BYTES;
    this._vparser = null;
    // Hot-path hooks (set by scenarios).
    this.onPublish = null; // (buf, header, bodyStart, bodyEnd) => void
    this.onPuback = null; // (buf, bodyStart) => void
    this.onChunkEnd = null; // () => void
    this._waiters = new Map(); // type -> [resolve, reject, timer]
    this._onCloseCbs = [];
  }

  _err(msg) {
    if (this.errors.length < 20) this.errors.push(msg);
  }

  /** Opens the socket (TCP, or TLS with `o.tls`), sends CONNECT, waits for CONNACK rc 0. */
  connect(timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      const to = { port: this.port, host: '127.0.0.1' };
      // Over TLS, CONNECT is written before the handshake completes: Node sends it as soon as the session is up.
      const sock = this.tls ? tls.connect({ ...to, ca: this.tls.ca, servername: 'localhost' }) : net.connect(to);
      this.sock = sock;
      sock.setNoDelay(true);
      let settled = false;
      const fail = (e) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.destroy();
        reject(e);
      };
      const timer = setTimeout(() => fail(new Error(`${this.clientId}: no CONNACK within ${timeoutMs} ms`)), timeoutMs);
      sock.on('error', (e) => {
        this.closeReason ??= e.message;
        fail(new Error(`${this.clientId}: socket error ${e.code ?? e.message}`));
      });
      sock.on('close', () => {
        this.closed = true;
        this.closeReason ??= 'closed by peer';
        fail(new Error(`${this.clientId}: connection closed before CONNACK`));
        for (const [, w] of this._waiters) w.reject(new Error(`${this.clientId}: connection closed`));
        this._waiters.clear();
        for (const cb of this._onCloseCbs) cb();
      });
      sock.on('data', (chunk) => this._onData(chunk));
      this._expect(T_CONNACK, timeoutMs).then(
        ({ buf, start }) => {
          const rc = buf[start + 1];
          this.sessionPresent = (buf[start] & 1) === 1;
          if (rc !== 0) return fail(new Error(`${this.clientId}: CONNACK return code ${rc}`));
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.connected = true;
          resolve(this);
        },
        (e) => fail(e),
      );
      this.connectSentAt = performance.now();
      sock.write(
        generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: this.clean, clientId: this.clientId, keepalive: this.keepalive }),
      );
    });
  }

  onClose(cb) {
    this._onCloseCbs.push(cb);
  }

  _expect(type, timeoutMs) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._waiters.delete(type);
        reject(new Error(`${this.clientId}: timed out waiting for packet type ${type}`));
      }, timeoutMs);
      this._waiters.set(type, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
    });
  }

  /** SUBSCRIBE to one filter, wait for SUBACK, check the granted QoS. */
  async subscribe(topic, qos, timeoutMs = 10000) {
    const p = this._expect(T_SUBACK, timeoutMs);
    this.sock.write(generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] }));
    const { buf, start, end } = await p;
    const granted = buf[end - 1];
    if (end - start !== 3) throw new Error(`${this.clientId}: SUBACK of unexpected length ${end - start}`);
    if (granted === 0x80) throw new Error(`${this.clientId}: SUBACK refused subscription to ${topic}`);
    if (granted !== qos) this._err(`SUBACK granted QoS ${granted} for requested ${qos}`);
    return granted;
  }

  _validateChunk(chunk) {
    if (!this._vparser) {
      this._vparser = createParser({ protocolVersion: 4 });
      this._vparser.on('packet', (packet) => {
        if (packet.cmd === 'publish') {
          this.validatedPublishes++;
          if (this.validate) {
            const e = this.validate(packet);
            if (e) this._err(`invalid PUBLISH: ${e}`);
          }
        }
      });
      this._vparser.on('error', (e) => this._err(`mqtt-packet parser: ${e.message}`));
    }
    const part = chunk.length > this._validateLeft ? chunk.subarray(0, this._validateLeft) : chunk;
    this._validateLeft -= part.length;
    this._vparser.parse(part);
  }

  _onData(chunk) {
    if (this._validateLeft > 0) this._validateChunk(chunk);
    let buf = chunk;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    const len = buf.length;
    let off = 0;
    while (off < len) {
      const h = buf[off];
      let i = off + 1;
      let rl = 0;
      let mul = 1;
      let complete = false;
      while (i < len) {
        const b = buf[i++];
        rl += (b & 0x7f) * mul;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
        mul *= 128;
        if (mul > 2097152) {
          this._err('malformed remaining length');
          this.sock.destroy();
          return;
        }
      }
      if (!complete || i + rl > len) break;
      const type = h >> 4;
      if (type === T_PUBLISH) {
        if (this.onPublish !== null) this.onPublish(buf, h, i, i + rl);
      } else if (type === T_PUBACK) {
        if (this.onPuback !== null) this.onPuback(buf, i);
      } else {
        const w = this._waiters.get(type);
        if (w) {
          this._waiters.delete(type);
          w.resolve({ buf, start: i, end: i + rl });
        } else if (type !== T_PINGRESP) {
          this._err(`unexpected packet type ${type}`);
        }
      }
      off = i + rl;
    }
    if (off < len) this.pending = Buffer.from(buf.subarray(off));
    if (this.onChunkEnd !== null) this.onChunkEnd();
  }

  /** Graceful: DISCONNECT then end; hard after timeout. */
  async close(timeoutMs = 2000) {
    if (!this.sock || this.sock.destroyed) return;
    this.onPublish = null;
    this.onPuback = null;
    this.onChunkEnd = null;
    await new Promise((resolve) => {
      const t = setTimeout(() => {
        this.sock.destroy();
        resolve();
      }, timeoutMs);
      this.sock.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      this.sock.end(DISCONNECT);
    });
  }

  destroy() {
    this.onPublish = null;
    this.onPuback = null;
    this.onChunkEnd = null;
    this.sock?.destroy();
  }
}

/** Connects n clients with at most `concurrency` CONNECTs outstanding. */
export async function connectMany(n, mk, concurrency = 200) {
  const clients = [];
  let next = 0;
  let firstError = null;
  const worker = async () => {
    while (next < n && firstError === null) {
      const i = next++;
      const c = mk(i);
      clients.push(c);
      try {
        await c.connect();
      } catch (e) {
        firstError ??= e;
      }
    }
  };
  const workers = [];
  for (let w = 0; w < Math.min(concurrency, n); w++) workers.push(worker());
  await Promise.all(workers);
  if (firstError) {
    firstError.connectedBeforeFailure = clients.filter((c) => c.connected && !c.closed).length;
    for (const c of clients) c.destroy();
    throw firstError;
  }
  return clients;
}
