/**
 * What frontends write to each other's inboxes (`ib:{f:<id>}`), byte for byte:
 * `[version u8 = 1][kind u8]` then by kind
 * - 1 message: `[message record: bytes]` (the retained-record codec of ../storage, any QoS) `[targets u32]`
 *   each `[clientId: str][shared u8]` and, when shared, `[group: str][topicFilter: str]`;
 * - 2 release (a frontend claiming a session asks its owner to hand it over): `[clientId: str][from: str][request: str]`;
 * - 3 released (the owner handed it over; its writes are done): `[clientId: str][request: str]`;
 * - 4 retained (on the retained change stream: a frontend set or cleared a retained message): `[origin: str][message record: bytes]`.
 * `str`/`bytes` are u32-length-prefixed (../storage/binary-io.ts). The whole frame is sealed with the
 * store's cipher before it is written (no plaintext in Redis with encryption on).
 */
import type { ForwardTarget } from '../broker/cluster-link.js';
import { BinaryReader, BinaryWriter, RecordFormatError } from '../storage/binary-io.js';
import type { MessageRecord } from '../storage/broker-store.js';
import { decodeRetained, encodeRetained } from '../storage/record-codec.js';

const FRAME_VERSION = 1;
const Kind = { Message: 1, Release: 2, Released: 3, Retained: 4 } as const;

/** One inbox entry. */
export type InboxFrame =
  | { readonly kind: 'message'; readonly message: MessageRecord; readonly targets: readonly ForwardTarget[] }
  | { readonly kind: 'release'; readonly clientId: string; readonly from: string; readonly request: string }
  | { readonly kind: 'released'; readonly clientId: string; readonly request: string }
  | { readonly kind: 'retained'; readonly origin: string; readonly message: MessageRecord };

/** Encodes a frame. */
export function encodeFrame(frame: InboxFrame): Buffer {
  const w = new BinaryWriter(frame.kind === 'message' || frame.kind === 'retained' ? 64 + frame.message.payload.length : 64);
  w.u8(FRAME_VERSION);
  switch (frame.kind) {
    case 'message':
      w.u8(Kind.Message);
      w.bytes(encodeRetained(frame.message));
      w.u32(frame.targets.length);
      for (const target of frame.targets) {
        w.str(target.clientId);
        if (target.group === undefined) w.u8(0);
        else {
          w.u8(1);
          w.str(target.group);
          w.str(target.topicFilter ?? '');
        }
      }
      break;
    case 'release':
      w.u8(Kind.Release);
      w.str(frame.clientId);
      w.str(frame.from);
      w.str(frame.request);
      break;
    case 'released':
      w.u8(Kind.Released);
      w.str(frame.clientId);
      w.str(frame.request);
      break;
    case 'retained':
      w.u8(Kind.Retained);
      w.str(frame.origin);
      w.bytes(encodeRetained(frame.message));
      break;
  }
  return w.finish();
}

/** Decodes a frame; throws {@link RecordFormatError} on anything malformed (unknown version or kind, truncated, trailing bytes). */
export function decodeFrame(bytes: Buffer): InboxFrame {
  const r = new BinaryReader(bytes);
  const version = r.u8();
  if (version !== FRAME_VERSION) throw new RecordFormatError(`inbox frame version ${version} is not ${FRAME_VERSION}`);
  const kind = r.u8();
  let frame: InboxFrame;
  switch (kind) {
    case Kind.Message: {
      const message = decodeRetained(r.bytes());
      const count = r.u32();
      // Each target takes at least 5 bytes: a count beyond what is left is a lie, not an allocation.
      if (count > bytes.length / 5) throw new RecordFormatError(`inbox frame claims ${count} targets in ${bytes.length} bytes`);
      const targets: ForwardTarget[] = [];
      for (let i = 0; i < count; i++) {
        const clientId = r.str();
        const shared = r.u8();
        if (shared === 0) targets.push({ clientId });
        else if (shared === 1) targets.push({ clientId, group: r.str(), topicFilter: r.str() });
        else throw new RecordFormatError(`inbox frame target flag ${shared}`);
      }
      frame = { kind: 'message', message, targets };
      break;
    }
    case Kind.Release:
      frame = { kind: 'release', clientId: r.str(), from: r.str(), request: r.str() };
      break;
    case Kind.Released:
      frame = { kind: 'released', clientId: r.str(), request: r.str() };
      break;
    case Kind.Retained:
      frame = { kind: 'retained', origin: r.str(), message: decodeRetained(r.bytes()) };
      break;
    default:
      throw new RecordFormatError(`inbox frame kind ${kind}`);
  }
  r.end();
  return frame;
}
