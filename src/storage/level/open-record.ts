/**
 * The one way a value stored in the level store becomes data: opened with the store's cipher
 * (authenticated), then decoded, or reported as STO_CORRUPT_RECORD.
 */
import type { ValueCipher } from '../value-cipher.js';
import { corruptRecord } from '../store-errors.js';
import { reasonOf } from '../../shared/errors.js';

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
