/**
 * The errors of a durable store, built in one place (codes from `src/shared/error-codes.ts`), and
 * the promise helpers every durable implementation reports them with.
 */
import { OpsError, reasonOf } from '../shared/errors.js';

/** A promise rejected with `error` that never counts as unhandled. */
export function failed(error: OpsError): Promise<void> {
  const promise = Promise.reject(error);
  promise.catch(() => undefined); // reported to whoever awaits; never an unhandled rejection
  return promise;
}

/** STO_OPEN_FAILED: the store could not be opened (locked, unreadable, damaged, a newer format). */
export function openFailed(path: string, reason: string, cause?: unknown): OpsError {
  return new OpsError('STO_OPEN_FAILED', { path, reason }, cause === undefined ? undefined : { cause });
}

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
