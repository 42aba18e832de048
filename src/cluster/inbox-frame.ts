/**
 * What frontends write to each other's inboxes (`ib:{f:<id>}`), byte for byte:
 * `[version u8 = 1][kind u8]` then by kind
 * - 1 message: `[message record: bytes]` (the retained-record codec of ../storage, any QoS) `[targets u32]`
 *   each `[clientId: str][shared u8]` and, when shared, `[group: str][topicFilter: str]`; then, only
 *   when the frame carries its publisher's identity (for an in-process service target, see
 *   RemoteSender), `[clientId: str][hasUsername u8][username: str]?[attributes u32]` each
 *   `[name: str][value: str]`, `[hasAuthorization u8][authorization: str]?`;
 * - 2 release (a frontend claiming a session asks its owner to hand it over): `[clientId: str][from: str][request: str]`;
 * - 3 released (the owner handed it over; its writes are done): `[clientId: str][request: str]`;
 * - 4 retained (on the retained change stream: a frontend set or cleared a retained message): `[origin: str][message record: bytes]`;
 * - 5 messages (the messages one frontend published for this one in one turn, in order): `[count u32]`
 *   then each as kind 1's body (`[message record: bytes][targets u32]...`, never with an identity:
 *   a message that carries one goes as kind 1).
 * `str`/`bytes` are u32-length-prefixed (../storage/binary-io.ts). The whole frame is sealed with the
 * store's cipher before it is written (no plaintext in Redis with encryption on).
 */
import type { ForwardTarget } from '../broker/cluster-link.js';
import type { RemoteSender } from '../broker/hooks.js';
import { Message } from '../broker/message.js';
import { BinaryReader, BinaryWriter, RecordFormatError } from '../storage/binary-io.js';
import type { MessageRecord } from '../storage/broker-store.js';
import { decodeRetained, encodeRetained } from '../storage/record-codec.js';

const FRAME_VERSION = 1;
const Kind = { Message: 1, Release: 2, Released: 3, Retained: 4, Messages: 5 } as const;

/** One forwarded message and the sessions here it is for. */
export interface ForwardedItem {
  readonly message: MessageRecord;
  readonly targets: readonly ForwardTarget[];
}

/** One inbox entry. */
export type InboxFrame =
  | { readonly kind: 'message'; readonly message: MessageRecord; readonly targets: readonly ForwardTarget[]; readonly sender?: RemoteSender | undefined }
  | { readonly kind: 'messages'; readonly items: readonly ForwardedItem[] }
  | { readonly kind: 'release'; readonly clientId: string; readonly from: string; readonly request: string }
  | { readonly kind: 'released'; readonly clientId: string; readonly request: string }
  | { readonly kind: 'retained'; readonly origin: string; readonly message: MessageRecord };

/** Encodes a frame. */
export function encodeFrame(frame: InboxFrame): Buffer {
  let hint = 64;
  if (frame.kind === 'message' || frame.kind === 'retained') hint += frame.message.payload.length;
  else if (frame.kind === 'messages') for (const item of frame.items) hint += 64 + item.message.payload.length;
  const w = new BinaryWriter(hint);
  w.u8(FRAME_VERSION);
  switch (frame.kind) {
    case 'message':
      w.u8(Kind.Message);
      writeItem(w, frame);
      if (frame.sender !== undefined) writeSender(w, frame.sender);
      break;
    case 'messages':
      w.u8(Kind.Messages);
      w.u32(frame.items.length);
      for (const item of frame.items) writeItem(w, item);
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

function writeItem(w: BinaryWriter, item: ForwardedItem): void {
  w.bytes(encodeRetained(item.message));
  w.u32(item.targets.length);
  for (const target of item.targets) {
    w.str(target.clientId);
    if (target.group === undefined) w.u8(0);
    else {
      w.u8(1);
      w.str(target.group);
      w.str(target.topicFilter ?? '');
    }
  }
}

function readItem(r: BinaryReader, size: number): ForwardedItem {
  const message = decodeRetained(r.bytes());
  const count = r.u32();
  // Each target takes at least 5 bytes: a count beyond what is left is a lie, not an allocation.
  if (count > size / 5) throw new RecordFormatError(`inbox frame claims ${count} targets in ${size} bytes`);
  const targets: ForwardTarget[] = [];
  for (let i = 0; i < count; i++) {
    const clientId = r.str();
    const shared = r.u8();
    if (shared === 0) targets.push({ clientId });
    else if (shared === 1) targets.push({ clientId, group: r.str(), topicFilter: r.str() });
    else throw new RecordFormatError(`inbox frame target flag ${shared}`);
  }
  return { message, targets };
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
      const item = readItem(r, bytes.length);
      frame = r.remaining() > 0 ? { kind: 'message', ...item, sender: readSender(r, bytes.length) } : { kind: 'message', ...item };
      break;
    }
    case Kind.Messages: {
      const count = r.u32();
      // Each message takes at least 8 bytes (its record's length and its target count).
      if (count > bytes.length / 8) throw new RecordFormatError(`inbox frame claims ${count} messages in ${bytes.length} bytes`);
      const items: ForwardedItem[] = [];
      for (let i = 0; i < count; i++) items.push(readItem(r, bytes.length));
      frame = { kind: 'messages', items };
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
/** The engine message of a message frame, with its publisher's identity when the frame carries it. */
export function messageOf(frame: Extract<InboxFrame, { kind: 'message' }>): Message {
  const message = new Message(frame.message);
  if (frame.sender !== undefined) message.remoteSender = frame.sender;
  return message;
}

/**
 * Whether a forwarded message carries its publisher's identity: only to in-process services (the
 * state store leader's client, ids starting with `$`), which decide for the publisher as its own
 * frontend would; sessions of clients never need it.
 */
export function carriesSender(targets: readonly ForwardTarget[]): boolean {
  for (const target of targets) if (target.clientId.startsWith('$')) return true;
  return false;
}

function optionalStr(w: BinaryWriter, value: string | undefined): void {
  if (value === undefined) w.u8(0);
  else {
    w.u8(1);
    w.str(value);
  }
}

function readOptionalStr(r: BinaryReader): string | undefined {
  const flag = r.u8();
  if (flag === 0) return undefined;
  if (flag !== 1) throw new RecordFormatError(`inbox frame flag ${flag}`);
  return r.str();
}

function writeSender(w: BinaryWriter, sender: RemoteSender): void {
  const { identity } = sender;
  w.str(identity.clientId);
  optionalStr(w, identity.username);
  const attributes = Object.entries(identity.attributes);
  w.u32(attributes.length);
  for (const [name, value] of attributes) {
    w.str(name);
    w.str(value);
  }
  optionalStr(w, sender.authorization);
}

function readSender(r: BinaryReader, frameBytes: number): RemoteSender {
  const clientId = r.str();
  const username = readOptionalStr(r);
  const count = r.u32();
  // Each attribute takes at least 8 bytes: a count beyond what is left is a lie, not an allocation.
  if (count > frameBytes / 8) throw new RecordFormatError(`inbox frame claims ${count} attributes in ${frameBytes} bytes`);
  // A map without a prototype: a name like `__proto__` is an attribute, not a setter.
  const attributes: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i < count; i++) {
    const name = r.str();
    attributes[name] = r.str();
  }
  const authorization = readOptionalStr(r);
  return { identity: { clientId, username, attributes }, authorization };
}
