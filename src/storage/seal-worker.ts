import { Worker } from 'node:worker_threads';

/**
 * Seals batches of values with AES-256-GCM on a worker thread, so that encryption at rest costs
 * the broker's event loop a copy per value instead of a cipher setup per value (`createCipheriv`
 * is most of the cost of a small value, and it cannot be reused across nonces).
 *
 * Output is exactly what {@link aesGcmCipher}'s `seal` makes, value by value:
 * `[0x01][fresh random nonce 12][tag 16][ciphertext]`, the level key as additional data. A test
 * opens worker-sealed values with the main thread's cipher.
 *
 * The worker's code is a small CommonJS script run with `eval` (it needs no module resolution, so
 * it runs the same from `dist/` and from sources under test). If the worker fails, its pending
 * and later batches are sealed on the calling thread instead; nothing is lost or left unsealed.
 */

const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { createCipheriv, randomFillSync } = require('node:crypto');
const key = Buffer.from(workerData.key);
const NONCE = 12, TAG = 16, HEADER = 1 + NONCE + TAG;
const nonces = Buffer.allocUnsafe(NONCE * 1024);
let pos = nonces.length;
parentPort.on('message', (msg) => {
  const src = Buffer.from(msg.buf);
  const count = src.readUInt32BE(0);
  let p = 4, total = 0;
  for (let i = 0; i < count; i++) {
    const aadLen = src.readUInt32BE(p); p += 4 + aadLen;
    const plainLen = src.readUInt32BE(p); p += 4 + plainLen;
    total += HEADER + plainLen;
  }
  const out = Buffer.allocUnsafeSlow(total);
  p = 4;
  let o = 0;
  for (let i = 0; i < count; i++) {
    const aadLen = src.readUInt32BE(p); p += 4;
    const aad = src.subarray(p, p + aadLen); p += aadLen;
    const plainLen = src.readUInt32BE(p); p += 4;
    const plain = src.subarray(p, p + plainLen); p += plainLen;
    if (pos + NONCE > nonces.length) { randomFillSync(nonces); pos = 0; }
    const nonce = nonces.subarray(pos, pos + NONCE); pos += NONCE;
    const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG });
    cipher.setAAD(aad);
    out[o] = 0x01;
    nonce.copy(out, o + 1);
    const body = cipher.update(plain);
    const rest = cipher.final();
    cipher.getAuthTag().copy(out, o + 1 + NONCE);
    body.copy(out, o + HEADER);
    rest.copy(out, o + HEADER + body.length);
    o += HEADER + plainLen;
  }
  parentPort.postMessage({ id: msg.id, buf: out.buffer }, [out.buffer]);
});
`;

/** Bytes added to a value by sealing: format byte, nonce, tag. */
const SEALED_OVERHEAD = 1 + 12 + 16;

interface Request {
  readonly keys: readonly Buffer[];
  readonly plains: readonly Buffer[];
  readonly resolve: (sealed: Buffer[]) => void;
}

/** A worker thread sealing batches with one value key. */
export class SealWorker {
  readonly #valueKey: Buffer;
  /** Seals one value on the calling thread (the fallback). */
  readonly #sealHere: (aad: Buffer, plain: Buffer) => Buffer;
  readonly #pending = new Map<number, Request>();
  #worker: Worker | undefined;
  #broken = false;
  #nextId = 1;

  constructor(valueKey: Buffer, sealHere: (aad: Buffer, plain: Buffer) => Buffer) {
    this.#valueKey = valueKey;
    this.#sealHere = sealHere;
  }

  /** Seals `plains[i]` with `keys[i]` as additional data; the output has the same order. */
  seal(keys: readonly Buffer[], plains: readonly Buffer[]): Promise<Buffer[]> {
    const worker = this.#started();
    if (worker === undefined) return Promise.resolve(this.#sealAllHere(keys, plains));
    let size = 4;
    for (let i = 0; i < keys.length; i++) size += 8 + (keys[i] as Buffer).length + (plains[i] as Buffer).length;
    const buf = Buffer.allocUnsafeSlow(size); // its own ArrayBuffer: transferred, not copied
    buf.writeUInt32BE(keys.length, 0);
    let p = 4;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as Buffer;
      const plain = plains[i] as Buffer;
      buf.writeUInt32BE(key.length, p);
      key.copy(buf, p + 4);
      p += 4 + key.length;
      buf.writeUInt32BE(plain.length, p);
      plain.copy(buf, p + 4);
      p += 4 + plain.length;
    }
    const id = this.#nextId++;
    return new Promise<Buffer[]>((resolve) => {
      this.#pending.set(id, { keys, plains, resolve });
      worker.postMessage({ id, buf: buf.buffer }, [buf.buffer]);
    });
  }

  /** Stops the worker; later batches are sealed on the calling thread. */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#broken = true;
    this.#worker = undefined;
    this.#fail();
    if (worker !== undefined) await worker.terminate();
  }

  #started(): Worker | undefined {
    if (this.#worker !== undefined || this.#broken) return this.#worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { key: new Uint8Array(this.#valueKey) } });
    worker.unref(); // never keeps the process alive on its own
    worker.on('message', (msg: { id: number; buf: ArrayBuffer }) => this.#done(msg.id, Buffer.from(msg.buf)));
    worker.on('error', () => this.#lost(worker));
    worker.on('exit', () => this.#lost(worker));
    this.#worker = worker;
    return worker;
  }

  #done(id: number, out: Buffer): void {
    const request = this.#pending.get(id);
    if (request === undefined) return;
    this.#pending.delete(id);
    const sealed: Buffer[] = [];
    let o = 0;
    for (const plain of request.plains) {
      const length = SEALED_OVERHEAD + plain.length;
      sealed.push(out.subarray(o, o + length));
      o += length;
    }
    request.resolve(sealed);
  }

  /** The worker died: seal what it had here, and everything from now on. */
  #lost(worker: Worker): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    this.#broken = true;
    this.#fail();
  }

  #fail(): void {
    for (const request of this.#pending.values()) request.resolve(this.#sealAllHere(request.keys, request.plains));
    this.#pending.clear();
  }

  #sealAllHere(keys: readonly Buffer[], plains: readonly Buffer[]): Buffer[] {
    return keys.map((key, i) => this.#sealHere(key, plains[i] as Buffer));
  }
}
