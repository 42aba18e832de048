import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { aesGcmCipher, plainCipher, SealedValueError, WORKER_BATCH_MIN, type ValueCipher } from '../../../src/storage/encryption.js';
import { SealWorker } from '../../../src/storage/seal-worker.js';

const ciphers: ValueCipher[] = [];
const workers: SealWorker[] = [];

afterEach(async () => {
  for (const c of ciphers.splice(0)) await c.close();
  for (const w of workers.splice(0)) await w.close();
});

function cipher(): ValueCipher {
  const c = aesGcmCipher(randomBytes(32), randomBytes(16));
  ciphers.push(c);
  return c;
}

function batch(n: number): { aads: Buffer[]; plains: Buffer[] } {
  return {
    aads: Array.from({ length: n }, (_, i) => Buffer.from(`q/key-${i}`)),
    plains: Array.from({ length: n }, (_, i) => (i === 3 ? Buffer.alloc(0) : randomBytes(1 + ((i * 37) % 300)))),
  };
}

describe('sealing batches (AES-256-GCM)', () => {
  it.each([1, WORKER_BATCH_MIN - 1, WORKER_BATCH_MIN, 500])('%i values: each opens with the cipher under its own key, fresh nonce each', async (n) => {
    const c = cipher();
    const { aads, plains } = batch(n);
    const sealed = await c.sealMany(aads, plains);
    expect(sealed).toHaveLength(n);
    const nonces = new Set<string>();
    for (let i = 0; i < n; i++) {
      const value = sealed[i] as Buffer;
      expect(value.length).toBe(c.sealedLength((plains[i] as Buffer).length));
      expect(value[0]).toBe(0x01);
      nonces.add(value.subarray(1, 13).toString('hex'));
      expect(c.open(aads[i] as Buffer, value).equals(plains[i] as Buffer)).toBe(true);
    }
    expect(nonces.size).toBe(n);
    if (n > 1) expect(() => c.open(aads[1] as Buffer, sealed[0] as Buffer)).toThrow(SealedValueError); // the key is the AAD
  });

  it('a worker-sealed value with a flipped byte fails authentication', async () => {
    const c = cipher();
    const { aads, plains } = batch(WORKER_BATCH_MIN * 2);
    const sealed = await c.sealMany(aads, plains);
    const tampered = Buffer.from(sealed[5] as Buffer);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 0x01;
    expect(() => c.open(aads[5] as Buffer, tampered)).toThrow(SealedValueError);
  });

  it('batches pending when the worker stops are sealed on the calling thread, and so are later ones', async () => {
    const c = cipher();
    const sealHere = (aad: Buffer, plain: Buffer): Buffer => c.seal(aad, plain);
    const key = randomBytes(32);
    // A SealWorker with another key than `c`: what it seals itself does not open with `c`, what falls back does.
    const worker = new SealWorker(key, sealHere);
    workers.push(worker);
    const { aads, plains } = batch(50);
    const pending = worker.seal(aads, plains);
    await worker.close();
    const sealed = await pending;
    const later = await worker.seal(aads, plains);
    for (const values of [sealed, later]) for (let i = 0; i < 50; i++) expect(c.open(aads[i] as Buffer, values[i] as Buffer).equals(plains[i] as Buffer)).toBe(true);
  });

  it('encryption Disabled: sealMany frames values like seal', () => {
    const c = plainCipher();
    const { aads, plains } = batch(20);
    const sealed = c.sealMany(aads, plains) as Buffer[];
    for (let i = 0; i < 20; i++) expect(sealed[i]).toEqual(c.seal(aads[i] as Buffer, plains[i] as Buffer));
  });
});
