/**
 * Readiness probe: opens a TCP connection, sends a minimal MQTT 3.1.1 CONNECT and waits for a
 * CONNACK. The CLI never imports protocol code, so the dozen bytes are written out here.
 */
import { connect } from 'node:net';

/** A v3.1.1 CONNECT with clean session, keep-alive 10 s, and the given client id. */
export function connectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  const body = Buffer.concat([
    Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x0a]),
    Buffer.from([id.length >> 8, id.length & 0xff]),
    id,
  ]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/** Resolves true when the broker at host:port answers CONNECT with a CONNACK, false otherwise. */
export function probeMqtt(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host, port });
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      if (ok) socket.end(Buffer.from([0xe0, 0x00]));
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('connect', () => socket.write(connectPacket(`ops-probe-${process.pid}`)));
    socket.on('data', (chunk: Buffer) => finish(chunk[0] === 0x20));
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
  });
}
