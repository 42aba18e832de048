/**
 * The stored will of a client connected to a cluster frontend (`w:{c:<id>}`):
 * `[version u8 = 1][clientId: str][delaySeconds u32][message record: bytes]` (../binary-io.ts; the
 * message is the retained-record codec). Sealed by the store's value cipher like every value.
 */
import { BinaryReader, BinaryWriter, RecordFormatError } from '../binary-io.js';
import type { WillRecord } from '../broker-store.js';
import { decodeRetained, encodeRetained } from '../record-codec.js';

const WILL_VERSION = 1;

/** Encodes a client's will. */
export function encodeWill(clientId: string, will: WillRecord): Buffer {
  const w = new BinaryWriter(64 + will.message.payload.length);
  w.u8(WILL_VERSION);
  w.str(clientId);
  w.u32(will.delaySeconds);
  w.bytes(encodeRetained(will.message));
  return w.finish();
}

/** Decodes a client's will; throws {@link RecordFormatError} on malformed bytes. */
export function decodeWill(bytes: Buffer): { clientId: string; will: WillRecord } {
  const r = new BinaryReader(bytes);
  const version = r.u8();
  if (version !== WILL_VERSION) throw new RecordFormatError(`will version ${version} is not ${WILL_VERSION}`);
  const clientId = r.str();
  const delaySeconds = r.u32();
  const message = decodeRetained(r.bytes());
  r.end();
  return { clientId, will: { message, delaySeconds } };
}
