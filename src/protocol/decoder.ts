import { isUtf8 } from 'node:buffer';
import mqttPacket from 'mqtt-packet';
import { notAConnect } from './connect-prefix.js';
import { hardenParser, type HardenableParser } from './harden-parser.js';
import type { Packet } from './packets.js';
import type { PartialPacketBudget } from './partial-packet-budget.js';
import { attachMoreFilters, LAZY_SUBSCRIBE_BYTES, splitSubscribe, SubscribeFilterReader } from './subscribe-filters.js';
import { captureUserPropertyOrder } from './user-properties.js';
import { validatePacket } from './validate-packet.js';
import { PacketViolation, type ViolationKind } from './violation.js';
import { reasonOf } from '../shared/errors.js';

/** Why a byte stream could not be decoded: a protocol violation (see violation.ts), a packet over the size limit, or over the broker-wide bound on partial packets. */
export type DecodeFailure = ViolationKind | 'too-large' | 'over-budget';

/** A decoding failure: the connection must be closed (with 0x81, 0x82, 0x95 or 0x97 on v5). */
export class DecodeError extends Error {
  readonly failure: DecodeFailure;
  /** For a CONNECT refused at its fixed header: its protocol level, when the bytes that carry it had arrived. */
  readonly connectLevel: number | undefined;
  constructor(failure: DecodeFailure, message: string, connectLevel?: number) {
    super(message);
    this.name = 'DecodeError';
    this.failure = failure;
    this.connectLevel = connectLevel;
  }
}

/** Where the shared parser sends what it decodes. */
interface ParseTarget {
  emit(packet: Packet): void;
  fail(error: DecodeError): void;
}

interface ParserInternals {
  settings: { protocolVersion: number };
  _pos: number;
  _list: { length: number };
  _resetState(): void;
}

type MqttParser = ReturnType<typeof mqttPacket.parser>;

/** The mqtt-packet string reader the UTF-8 check wraps. */
interface StringParser {
  _pos: number;
  _list: { slice(start: number, end: number): Buffer };
  _parseString(): string | null;
  _emitError(error: Error): void;
}

/**
 * [MQTT-1.5.4-1] ill-formed UTF-8 in a string makes the packet malformed (mqtt-packet would decode it to U+FFFD);
 * [MQTT-1.5.4-2] so does U+0000 (in a client id, a topic, a user name, ...).
 */
function rejectIllFormedUtf8(parser: StringParser): void {
  const parseString = parser._parseString;
  parser._parseString = function (this: StringParser): string | null {
    const start = this._pos + 2;
    const result = parseString.call(this);
    if (result === null) return result;
    if (result.includes('\u0000')) {
      this._emitError(new Error('U+0000 in a string'));
      return null;
    }
    if (!result.includes('\uFFFD') || isUtf8(this._list.slice(start, this._pos))) return result;
    this._emitError(new Error('ill-formed UTF-8 in a string'));
    return null;
  };
}

function makeParser(getTarget: () => ParseTarget | undefined): MqttParser {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  rejectIllFormedUtf8(parser as unknown as StringParser);
  captureUserPropertyOrder(parser as unknown as Parameters<typeof captureUserPropertyOrder>[0]);
  const hardened = parser as unknown as HardenableParser;
  hardenParser(hardened);
  parser.on('packet', (packet: Packet) => {
    const target = getTarget();
    if (target === undefined) return;
    // Validated here, before any handler sees it (its property sections already were, in hardenParser).
    try {
      validatePacket(packet, hardened._pos, packet.cmd === 'connect' ? packet.protocolVersion ?? 4 : hardened.settings.protocolVersion ?? 4);
    } catch (error) {
      target.fail(toDecodeError(error, packet.cmd === 'connect' ? packet.protocolVersion : undefined));
      return;
    }
    target.emit(packet);
  });
  parser.on('error', (error: unknown) => {
    const packet = hardened.packet as Partial<Packet>;
    getTarget()?.fail(toDecodeError(error, packet.cmd === 'connect' ? (packet as { protocolVersion?: number }).protocolVersion : undefined));
  });
  return parser;
}

/** The decoder's report of a parser error or a failed validation; `connectLevel` set when a CONNECT failed. */
function toDecodeError(error: unknown, connectLevel: number | undefined): DecodeError {
  if (error instanceof PacketViolation) return new DecodeError(error.kind, error.message, connectLevel);
  return new DecodeError('malformed', reasonOf(error), connectLevel);
}

/**
 * One mqtt-packet parser for every connection: the framer below hands it only whole packets,
 * so it holds no state between calls and connections need no parser (or buffer list) of their
 * own. That keeps an idle connection small.
 */
let sharedTarget: ParseTarget | undefined;
let sharedBusy = false;
const sharedParser = makeParser(() => sharedTarget);

function parseWhole(bytes: Buffer, version: number, target: ParseTarget): void {
  let parser = sharedParser;
  if (sharedBusy) parser = makeParser(() => target); // re-entered from a packet handler: use a private one
  const internals = parser as unknown as ParserInternals;
  const previous = sharedTarget;
  if (parser === sharedParser) {
    sharedBusy = true;
    sharedTarget = target;
  }
  try {
    internals.settings.protocolVersion = version;
    internals._pos = 0; // a failed parse leaves it stale, and the length reader starts from it
    parser.parse(bytes);
    if (internals._list.length > 0) internals._resetState(); // never carry bytes to another connection
  } finally {
    if (parser === sharedParser) {
      sharedBusy = false;
      sharedTarget = previous;
    }
  }
}

/** Packet type of SUBSCRIBE in the fixed header's high nibble. */
const SUBSCRIBE_TYPE = 8;

/** A pending tail of a buffer larger than this is copied out of it (the rest of the buffer can then be freed). */
const COPY_TAIL_ABOVE_BYTES = 64 * 1024;

/** Fixed header of the packet at `pos`: its total size, or why it cannot be read yet. */
function readFixedHeader(buf: Buffer, pos: number): number | 'incomplete' | 'malformed' {
  let remaining = 0;
  let multiplier = 1;
  for (let i = 1; i <= 4; i++) {
    if (pos + i >= buf.length) return 'incomplete';
    const byte = buf[pos + i] as number;
    remaining += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return 1 + i + remaining;
    multiplier *= 128;
  }
  return 'malformed'; // [MQTT-1.5.5-1] a Variable Byte Integer has at most four bytes
}

/** Protocol level of a CONNECT starting at `pos` (after `"MQTT"` or `"MQIsdp"`), if those bytes are in `buf`. */
function peekConnectLevel(buf: Buffer, pos: number): number | undefined {
  if (((buf[pos] as number) & 0xf0) !== 0x10) return undefined;
  let at = pos + 1;
  while (at < buf.length && ((buf[at] as number) & 0x80) !== 0) at++;
  at++; // past the remaining length
  if (at + 2 > buf.length) return undefined;
  const nameLength = buf.readUInt16BE(at);
  const levelAt = at + 2 + nameLength;
  return nameLength <= 6 && levelAt < buf.length ? buf[levelAt] : undefined;
}

/** Where a {@link PacketDecoder} delivers (an object, not closures: one less allocation per connection). */
export interface DecoderSink {
  onPacket(packet: Packet): void;
  onDecodeError(error: DecodeError): void;
}

/**
 * Streaming decoder: bytes in, packets out. It frames the stream itself, reading each fixed
 * header first so an oversized packet is refused before its body is buffered (bounded memory
 * per connection), then lets mqtt-packet parse whole packets.
 */
export class PacketDecoder implements ParseTarget {
  #maxPacketSize: number;
  /** Largest first packet (the CONNECT, before authentication); see {@link limitFirstPacket}. */
  #maxFirstPacketSize: number;
  #version: 4 | 5 | 0 = 0;
  #failed = false;
  /** Bytes of an incomplete packet. */
  #pending: Buffer[] | undefined;
  #pendingBytes = 0;
  /** Total size of the incomplete packet once its header is known, else -1. */
  #need = -1;
  /** When the first byte of the incomplete packet arrived (ms since the epoch), else undefined. */
  #pendingSince: number | undefined;
  /** Bytes of {@link #pending} charged to {@link #budget}. */
  #charged = 0;
  readonly #budget: PartialPacketBudget | undefined;
  /** The rest of a split SUBSCRIBE, attached to its head when mqtt-packet emits it. */
  #splitRest: SubscribeFilterReader | undefined;
  readonly #sink: DecoderSink;

  /**
   * @param maxPacketSize largest whole packet accepted, in bytes
   * @param sink receives packets (synchronously, in order) and at most one error, after which nothing more
   * @param budget broker-wide bound that the bytes of incomplete packets are charged to
   */
  constructor(maxPacketSize: number, sink: DecoderSink, budget?: PartialPacketBudget) {
    this.#maxPacketSize = maxPacketSize;
    this.#maxFirstPacketSize = maxPacketSize;
    this.#sink = sink;
    this.#budget = budget;
  }

  /** When the packet now arriving started (ms since the epoch); undefined between packets. */
  get partialSince(): number | undefined {
    return this.#pendingSince;
  }

  /** Bytes held for the packet now arriving. */
  get partialBytes(): number {
    return this.#pendingBytes;
  }

  /** Restarts the deadline of the packet now arriving (reading was paused by the broker, not the client). */
  restartPartialClock(now = Date.now()): void {
    if (this.#pendingSince !== undefined) this.#pendingSince = now;
  }

  /** Drops the bytes of an incomplete packet and their charge (the connection is closing); nothing is decoded after. */
  discardPartial(): void {
    this.#failed = true;
    this.#dropPending();
  }

  /**
   * Until the protocol level is set (the CONNECT was read), accepts packets of at most `bytes`:
   * a huge CONNECT from a client nobody has authenticated yet is refused at its fixed header.
   */
  limitFirstPacket(bytes: number): void {
    this.#maxFirstPacketSize = Math.min(bytes, this.#maxPacketSize);
  }

  /** Sets the protocol level after CONNECT (v5 properties parsed from then on). */
  setProtocolVersion(version: 4 | 5): void {
    this.#version = version;
  }

  /** True once a failure was reported. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Feeds bytes; packets and errors are emitted synchronously. */
  push(chunk: Buffer): void {
    if (this.#failed || chunk.length === 0) return;
    if (this.#pending === undefined) {
      this.#process(chunk);
      return;
    }
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#need >= 0 && this.#pendingBytes < this.#need) {
      this.#charge(); // body still arriving
      return;
    }
    const merged = Buffer.concat(this.#pending, this.#pendingBytes);
    const since = this.#pendingSince;
    this.#dropPending();
    this.#process(merged, since);
  }

  /** ParseTarget: a packet was decoded. */
  emit(packet: Packet): void {
    const rest = this.#splitRest;
    if (rest !== undefined && packet.cmd === 'subscribe') {
      this.#splitRest = undefined;
      attachMoreFilters(packet, rest);
    }
    if (!this.#failed) this.#sink.onPacket(packet);
  }

  /** ParseTarget: the bytes were not a valid packet. */
  fail(error: DecodeError): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#dropPending();
    this.#sink.onDecodeError(error);
  }

  /**
   * Charges the pending bytes to the broker-wide budget; over it, the connection fails with
   * `over-budget` (its bytes are dropped at once).
   */
  #charge(): void {
    const budget = this.#budget;
    const extra = this.#pendingBytes - this.#charged;
    if (budget === undefined || extra <= 0) return;
    if (budget.tryTake(extra)) {
      this.#charged += extra;
      return;
    }
    this.fail(new DecodeError('over-budget', `the broker holds ${budget.usedBytes} bytes of incomplete packets, its bound is ${budget.maxBytes}`));
  }

  #dropPending(): void {
    this.#pending = undefined;
    this.#pendingBytes = 0;
    this.#need = -1;
    this.#pendingSince = undefined;
    if (this.#charged > 0) this.#budget?.give(this.#charged);
    this.#charged = 0;
  }

  /** @param since when the first of `buf`'s bytes arrived, for a packet that was already pending */
  #process(buf: Buffer, since?: number): void {
    let pos = 0;
    let runStart = 0;
    while (pos < buf.length) {
      const foreign = this.#version === 0 ? notAConnect(buf, pos) : undefined;
      if (foreign !== undefined) {
        this.fail(new DecodeError('malformed', foreign)); // not MQTT: refused at once, not at the CONNECT timeout
        return;
      }
      const total = readFixedHeader(buf, pos);
      if (total === 'incomplete') break;
      if (total === 'malformed') {
        this.#flush(buf, runStart, pos);
        this.fail(new DecodeError('malformed', 'remaining length is longer than four bytes'));
        return;
      }
      const max = this.#version === 0 ? this.#maxFirstPacketSize : this.#maxPacketSize;
      if (total > max) {
        this.#flush(buf, runStart, pos);
        if (this.#failed) return;
        const first = this.#version === 0;
        const what = first ? 'CONNECT' : 'packet';
        this.fail(new DecodeError('too-large', `${what} of ${total} bytes exceeds the maximum of ${max}`, first ? peekConnectLevel(buf, pos) : undefined));
        return;
      }
      if (pos + total > buf.length) {
        this.#need = total;
        break;
      }
      if (this.#version !== 0 && total > LAZY_SUBSCRIBE_BYTES && (buf[pos] as number) >> 4 === SUBSCRIBE_TYPE) {
        this.#flush(buf, runStart, pos);
        if (this.#failed) return;
        this.#decodeLargeSubscribe(buf.subarray(pos, pos + total));
        pos += total;
        runStart = pos;
        if (this.#failed) return;
        continue;
      }
      pos += total;
      if (this.#version === 0) {
        // Until CONNECT names the protocol level, packets are parsed one at a time.
        this.#flush(buf, runStart, pos);
        runStart = pos;
        if (this.#failed) return;
      }
    }
    this.#flush(buf, runStart, pos);
    if (this.#failed || pos === buf.length) return;
    // The start of the next packet stays; its deadline runs from when its first byte arrived.
    // A short tail of a large buffer is copied, so it does not keep the whole buffer alive.
    const tail = buf.subarray(pos);
    this.#pending = [pos > 0 && buf.length > COPY_TAIL_ABOVE_BYTES ? Buffer.from(tail) : tail];
    this.#pendingBytes = buf.length - pos;
    this.#pendingSince = pos === 0 && since !== undefined ? since : Date.now();
    this.#charge();
  }

  /** A large SUBSCRIBE: its head decoded now, the rest of its filters attached for the handler to read in slices. */
  #decodeLargeSubscribe(packet: Buffer): void {
    const version = this.#version === 0 ? 4 : this.#version;
    const split = splitSubscribe(packet, version);
    if (split === undefined) {
      parseWhole(packet, version, this);
      return;
    }
    this.#splitRest = new SubscribeFilterReader(split.rest, version);
    try {
      parseWhole(split.head, version, this);
    } finally {
      this.#splitRest = undefined;
    }
  }

  #flush(buf: Buffer, from: number, to: number): void {
    if (to > from && !this.#failed) parseWhole(buf.subarray(from, to), this.#version === 0 ? 4 : this.#version, this);
  }
}
