/**
 * The durable store's errors, built in one place (codes from `src/shared/error-codes.ts`), and the
 * one way a stored value becomes data: opened, authenticated and decoded, or reported.
 */
import { OpsError, reasonOf } from '../shared/errors.js';
import type { ValueCipher } from './encryption.js';
import { failed } from './level-batch.js';

/** STO_READ_FAILED: the database could not be read (`cause`: what it threw), or is closed. */
export function readFailed(path: string, reason: string, cause?: unknown): OpsError {
  return new OpsError('STO_READ_FAILED', { path, reason }, cause === undefined ? undefined : { cause });
}

/** STO_WRITE_FAILED: a write could not be planned or written, or the store is closed. */
export function writeFailed(path: string, reason: string, cause?: unknown): OpsError {
  return new OpsError('STO_WRITE_FAILED', { path, reason }, cause === undefined ? undefined : { cause });
}

/** A write refused before it was submitted (`cause`: why it could not be planned): STO_WRITE_FAILED, as a rejected promise. */
export function refusedWrite(path: string, cause: unknown): Promise<void> {
  return failed(writeFailed(path, reasonOf(cause), cause));
}

/** A write to a closed store: STO_WRITE_FAILED, as a rejected promise. */
export function closedWrite(path: string): Promise<void> {
  return failed(writeFailed(path, 'the store is closed'));
}

/** STO_CORRUPT_RECORD: a stored `record` (what it is, for the message) is damaged or not authentic. */
export function corruptRecord(path: string, record: string, reason: string, cause?: unknown): OpsError {
  return new OpsError('STO_CORRUPT_RECORD', { path, record, reason }, cause === undefined ? undefined : { cause });
}

/**
 * The value stored under `key`, opened with `cipher` and decoded. Anything wrong (not authentic:
 * SealedValueError; malformed: RecordFormatError; anything else) is STO_CORRUPT_RECORD, never data.
 */
export function openRecord<T>(cipher: ValueCipher, path: string, key: Buffer, value: Buffer, record: string, decode: (bytes: Buffer) => T): T {
  try {
    return decode(cipher.open(key, value));
  } catch (error) {
    throw corruptRecord(path, record, reasonOf(error), error);
  }
}
