import mqttPacket from 'mqtt-packet';
import type { Packet } from './packets.js';

/** Why a byte stream could not be decoded. */
export type DecodeFailure = 'malformed' | 'too-large';

/** A decoding failure: the connection must be closed (with 0x81 or 0x95 on v5). */
export class DecodeError extends Error {
  readonly failure: DecodeFailure;
  constructor(failure: DecodeFailure, message: string) {
    super(message);
    this.name = 'DecodeError';
    this.failure = failure;
  }
}

/**
 * Streaming decoder: bytes in, packets out. A size guard reads each fixed header first so an
 * oversized packet is refused before its body is buffered (bounded memory per connection);
 * mqtt-packet then parses the bytes.
 */
export class PacketDecoder {
  readonly #parser = mqttPacket.parser({ protocolVersion: 4 });
  #maxPacketSize: number;
  #failed = false;
  /** Body bytes of the current packet still to come. */
  #skip = 0;
  /** Fixed-header parsing state: bytes seen (0 = expecting the type byte). */
  #headerBytes = 0;
  #remaining = 0;
  #multiplier = 1;
  readonly #onError: (error: DecodeError) => void;

  /**
   * @param maxPacketSize largest whole packet accepted, in bytes
   * @param onPacket called synchronously for each packet, in order
   * @param onError called once on the first failure; nothing is emitted after it
   */
  constructor(maxPacketSize: number, onPacket: (packet: Packet) => void, onError: (error: DecodeError) => void) {
    this.#maxPacketSize = maxPacketSize;
    this.#onError = onError;
    this.#parser.on('packet', (packet: Packet) => {
      if (!this.#failed) onPacket(packet);
    });
    this.#parser.on('error', (error: unknown) => {
      this.#fail(new DecodeError('malformed', error instanceof Error ? error.message : String(error)));
    });
  }

  /** Switches v5 property parsing on after CONNECT named protocol level 5. */
  setProtocolVersion(version: 4 | 5): void {
    (this.#parser as unknown as { settings: { protocolVersion: number } }).settings.protocolVersion = version;
  }

  /** Feeds bytes; packets and errors are emitted synchronously. */
  push(chunk: Buffer): void {
    if (this.#failed) return;
    if (!this.#guard(chunk)) return;
    this.#parser.parse(chunk);
  }

  /** True once a failure was reported. */
  get failed(): boolean {
    return this.#failed;
  }

  #fail(error: DecodeError): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#onError(error);
  }

  /** Walks fixed headers in the chunk; false (after reporting) when a packet is malformed or too large. */
  #guard(chunk: Buffer): boolean {
    let pos = 0;
    const len = chunk.length;
    while (pos < len) {
      if (this.#skip > 0) {
        const take = Math.min(this.#skip, len - pos);
        this.#skip -= take;
        pos += take;
        continue;
      }
      const byte = chunk[pos] as number;
      pos++;
      if (this.#headerBytes === 0) {
        this.#headerBytes = 1;
        this.#remaining = 0;
        this.#multiplier = 1;
        continue;
      }
      this.#remaining += (byte & 0x7f) * this.#multiplier;
      this.#multiplier *= 128;
      this.#headerBytes++;
      if ((byte & 0x80) !== 0) {
        if (this.#headerBytes > 4) {
          // [MQTT-1.5.5-1] a Variable Byte Integer has at most four bytes
          this.#fail(new DecodeError('malformed', 'remaining length is longer than four bytes'));
          return false;
        }
        continue;
      }
      const total = this.#headerBytes + this.#remaining;
      if (total > this.#maxPacketSize) {
        this.#fail(new DecodeError('too-large', `packet of ${total} bytes exceeds the maximum of ${this.#maxPacketSize}`));
        return false;
      }
      this.#skip = this.#remaining;
      this.#headerBytes = 0;
    }
    return true;
  }
}
