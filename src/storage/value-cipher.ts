import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomFillSync } from 'node:crypto';

/** Turns a client id or topic into the bytes used inside keys. */
export type IdEncoder = (id: string) => Buffer;

/**
 * Encryption at rest for stored values (AES-256-GCM, node:crypto), shared by the durable stores
 * (level: the AAD is the level key; redis: the Redis key and field).
 *
 * Sealed value layout: `[format u8][nonce 12][auth tag 16][ciphertext]`, format
 * {@link ValueFormat.Aes256Gcm}. Every value gets a fresh random 96-bit nonce; the key of
 * the value is the GCM additional authenticated data, so a value moved under another key (into
 * another client's queue, say) fails authentication like a flipped byte does.
 *
 * The 32-byte store key is never used directly: HKDF-SHA256 with the store's random salt derives
 * one key for values and one for the keyed hash (HMAC-SHA256) that replaces client ids and topics
 * inside keys. So with encryption on, no payload, client id or topic is on disk in plain
 * text; what stays visible is the number and size of records and the seq numbers of queue keys.
 *
 * With encryption Disabled, values are `[format u8 = Plain][record]` and ids are their UTF-8 bytes.
 */
export const ValueFormat = { Plain: 0x00, Aes256Gcm: 0x01 } as const;

/** Size of a store encryption key, bytes. */
export const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + NONCE_BYTES + TAG_BYTES;
const KEY_CHECK_PLAINTEXT = Buffer.from('ops-broker key check v1');

/** A stored value could not be opened: bad format byte, truncated, or failed authentication. */
export class SealedValueError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'SealedValueError';
  }
}

/** Seals and opens stored values, and encodes ids inside keys. */
export interface ValueCipher {
  /** `AES-256-GCM` or `Disabled`. */
  readonly mode: 'AES-256-GCM' | 'Disabled';
  /** `aad` is the key the value is stored under. */
  seal(aad: Buffer, plain: Buffer): Buffer;
  /** Length of `seal`'s output for a plain value of this length (for size accounting before sealing). */
  sealedLength(plainLength: number): number;
  /** Throws {@link SealedValueError} when the value is not authentic or not in this cipher's format. */
  open(aad: Buffer, sealed: Buffer): Buffer;
  /** How client ids and topics appear in keys. */
  readonly id: IdEncoder;
}

/** Values stored with a format byte and no encryption; ids in plain UTF-8. */
export function plainCipher(): ValueCipher {
  const seal = (_aad: Buffer, plain: Buffer): Buffer => {
    const out = Buffer.allocUnsafe(1 + plain.length);
    out[0] = ValueFormat.Plain;
    plain.copy(out, 1);
    return out;
  };
  return {
    mode: 'Disabled',
    sealedLength: (n) => 1 + n,
    seal,
    open(_aad, sealed) {
      if (sealed[0] !== ValueFormat.Plain) throw new SealedValueError(`value format ${String(sealed[0])} is not the plain format of an unencrypted store`);
      return sealed.subarray(1);
    },
    id: (id) => Buffer.from(id, 'utf8'),
  };
}

/** A pool of random bytes, refilled in blocks: a nonce costs a copy, not a syscall. */
class NoncePool {
  readonly #pool = Buffer.allocUnsafe(NONCE_BYTES * 1024);
  #pos = this.#pool.length;

  next(): Buffer {
    if (this.#pos + NONCE_BYTES > this.#pool.length) {
      randomFillSync(this.#pool);
      this.#pos = 0;
    }
    const nonce = Buffer.from(this.#pool.subarray(this.#pos, this.#pos + NONCE_BYTES));
    this.#pos += NONCE_BYTES;
    return nonce;
  }
}

function derive(master: Buffer, salt: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, salt, info, KEY_BYTES));
}

/** AES-256-GCM values and HMAC-SHA256 ids, keys derived from `masterKey` (32 bytes) and the store's `salt`. */
export function aesGcmCipher(masterKey: Buffer, salt: Buffer): ValueCipher {
  if (masterKey.length !== KEY_BYTES) throw new RangeError(`the encryption key must be ${KEY_BYTES} bytes, got ${masterKey.length}`);
  const valueKey = derive(masterKey, salt, 'ops-broker value key v1');
  const idKey = derive(masterKey, salt, 'ops-broker id key v1');
  const nonces = new NoncePool();
  const seal = (aad: Buffer, plain: Buffer): Buffer => {
    const nonce = nonces.next();
    const cipher = createCipheriv('aes-256-gcm', valueKey, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad);
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
    out[0] = ValueFormat.Aes256Gcm;
    nonce.copy(out, 1);
    cipher.getAuthTag().copy(out, 1 + NONCE_BYTES);
    body.copy(out, HEADER_BYTES);
    return out;
  };
  return {
    mode: 'AES-256-GCM',
    sealedLength: (n) => HEADER_BYTES + n,
    seal,
    open(aad, sealed) {
      if (sealed[0] !== ValueFormat.Aes256Gcm) throw new SealedValueError(`value format ${String(sealed[0])} is not AES-256-GCM`);
      if (sealed.length < HEADER_BYTES) throw new SealedValueError('sealed value is truncated');
      const decipher = createDecipheriv('aes-256-gcm', valueKey, sealed.subarray(1, 1 + NONCE_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(aad);
      decipher.setAuthTag(sealed.subarray(1 + NONCE_BYTES, HEADER_BYTES));
      try {
        return Buffer.concat([decipher.update(sealed.subarray(HEADER_BYTES)), decipher.final()]);
      } catch {
        throw new SealedValueError('authentication failed (tampered value or wrong key)');
      }
    },
    id: (id) => createHmac('sha256', idKey).update(id, 'utf8').digest(),
  };
}

/** The key check value stored under `aad` at create: a known constant, sealed. */
export function makeKeyCheck(cipher: ValueCipher, aad: Buffer): Buffer {
  return cipher.seal(aad, KEY_CHECK_PLAINTEXT);
}

/** Whether `sealed` is the key check value of this cipher's key. */
export function verifyKeyCheck(cipher: ValueCipher, aad: Buffer, sealed: Buffer): boolean {
  try {
    return cipher.open(aad, sealed).equals(KEY_CHECK_PLAINTEXT);
  } catch {
    return false;
  }
}
