/**
 * MQTT over WebSockets (RFC 6455) without a dependency: the HTTP upgrade handshake, then binary
 * frames carried by a Duplex that the broker serves like any socket (`broker.attach`). Subprotocol
 * `mqtt` is selected when offered, as MQTT 5.0 §6 requires.
 */
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Largest HTTP upgrade request accepted, in bytes. */
const MAX_HEADER_BYTES = 16 * 1024;
/** Largest frame accepted (the broker's own maximum packet size applies on top). */
const MAX_FRAME_BYTES = 268_435_456;

const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** Encodes one unmasked server frame. */
export function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  if (len < 126) head[1] = len;
  else if (len < 65536) {
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

/** A WebSocket connection as a byte stream of its binary message payloads. */
class WebSocketStream extends Duplex {
  #buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly socket: Socket) {
    super();
    socket.on('data', (chunk: Buffer) => this.feed(chunk));
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
    socket.on('error', (err) => this.destroy(err));
  }

  /** Parses as many complete frames as the buffer holds. */
  feed(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const b = this.#buffer;
      if (b.length < 2) return;
      const opcode = (b[0] ?? 0) & 0x0f;
      const masked = ((b[1] ?? 0) & 0x80) !== 0;
      let len = (b[1] ?? 0) & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        offset = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        const big = b.readBigUInt64BE(2);
        if (big > BigInt(MAX_FRAME_BYTES)) return this.fail(1009);
        len = Number(big);
        offset = 10;
      }
      if (!masked) return this.fail(1002);
      if (b.length < offset + 4 + len) return;
      const mask = b.subarray(offset, offset + 4);
      const payload = Buffer.from(b.subarray(offset + 4, offset + 4 + len));
      for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] ?? 0) ^ (mask[i % 4] ?? 0);
      this.#buffer = b.subarray(offset + 4 + len);
      if (opcode === OP.binary || opcode === OP.continuation || opcode === OP.text) {
        if (payload.length > 0 && !this.push(payload)) this.socket.pause();
      } else if (opcode === OP.ping) this.socket.write(encodeFrame(OP.pong, payload));
      else if (opcode === OP.close) {
        this.socket.end(encodeFrame(OP.close, payload.subarray(0, 2)));
        this.push(null);
        return;
      }
    }
  }

  fail(code: number): void {
    const reason = Buffer.alloc(2);
    reason.writeUInt16BE(code);
    this.socket.end(encodeFrame(OP.close, reason));
    this.destroy();
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    if (this.socket.destroyed) return done(new Error('socket closed'));
    this.socket.write(encodeFrame(OP.binary, chunk), done);
  }

  override _final(done: (error?: Error | null) => void): void {
    this.socket.end(encodeFrame(OP.close, Buffer.from([0x03, 0xe8])), () => done());
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.socket.destroy();
    done(error);
  }
}

function reject(socket: Socket, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** Performs the upgrade handshake on `socket`, then hands the WebSocket stream to `serve`. */
export function acceptWebSocket(socket: Socket, serve: (stream: Duplex) => void): void {
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > MAX_HEADER_BYTES) reject(socket, '431 Request Header Fields Too Large');
      return;
    }
    socket.off('data', onData);
    const lines = head.subarray(0, end).toString('latin1').split('\r\n');
    const headers = new Map(
      lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as const),
    );
    const key = headers.get('sec-websocket-key');
    if (!lines[0]?.startsWith('GET ') || headers.get('upgrade')?.toLowerCase() !== 'websocket' || !key) {
      reject(socket, '400 Bad Request');
      return;
    }
    const offered = (headers.get('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim()).filter(Boolean);
    const protocol = offered.find((p) => p === 'mqtt') ?? offered[0];
    const accept = createHash('sha1').update(key + GUID).digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n` +
        (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : '') +
        '\r\n',
    );
    const stream = new WebSocketStream(socket);
    serve(stream);
    const rest = head.subarray(end + 4);
    if (rest.length > 0) stream.feed(rest);
  };
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
}
