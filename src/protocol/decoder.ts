import { isUtf8 } from 'node:buffer';
import mqttPacket from 'mqtt-packet';
import { notAConnect } from './connect-prefix.js';
import { hardenParser, type HardenableParser } from './harden-parser.js';
import type { Packet } from './packets.js';
import { captureUserPropertyOrder } from './user-properties.js';
import { validatePacket } from './validate-packet.js';
import { PacketViolation, type ViolationKind } from './violation.js';

/** Why a byte stream could not be decoded: a protocol violation (see violation.ts), or a packet over the size limit. */
export type DecodeFailure = ViolationKind | 'too-large';

/** A decoding failure: the connection must be closed (with 0x81, 0x82 or 0x95 on v5). */
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
  return new DecodeError('malformed', error instanceof Error ? error.message : String(error), connectLevel);
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
  readonly #sink: DecoderSink;

  /**
   * @param maxPacketSize largest whole packet accepted, in bytes
   * @param sink receives packets (synchronously, in order) and at most one error, after which nothing more
   */
  constructor(maxPacketSize: number, sink: DecoderSink) {
    this.#maxPacketSize = maxPacketSize;
    this.#maxFirstPacketSize = maxPacketSize;
    this.#sink = sink;
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
    if (this.#need >= 0 && this.#pendingBytes < this.#need) return; // body still arriving
    const merged = Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = undefined;
    this.#pendingBytes = 0;
    this.#need = -1;
    this.#process(merged);
  }

  /** ParseTarget: a packet was decoded. */
  emit(packet: Packet): void {
    if (!this.#failed) this.#sink.onPacket(packet);
  }

  /** ParseTarget: the bytes were not a valid packet. */
  fail(error: DecodeError): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#pending = undefined;
    this.#sink.onDecodeError(error);
  }

  #process(buf: Buffer): void {
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
    this.#pending = [buf.subarray(pos)];
    this.#pendingBytes = buf.length - pos;
  }

  #flush(buf: Buffer, from: number, to: number): void {
    if (to > from && !this.#failed) parseWhole(buf.subarray(from, to), this.#version === 0 ? 4 : this.#version, this);
  }
}
