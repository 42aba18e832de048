/**
 * When one connection reads: paced (reading yields to the event loop after a budget of bytes),
 * held (packets wait, in order, while an asynchronous decision or a long SUBSCRIBE is pending), and
 * throttled (publisher flow control stops reading while a subscriber catches up).
 */
import type { Duplex } from 'node:stream';
import type { PacketDecoder } from '../protocol/decoder.js';
import type { Packet } from '../protocol/packets.js';

/** Where held packets are replayed. */
export interface PacketSink {
  onPacket(packet: Packet): void;
}

/** Bytes one connection may read before reading yields to the next event-loop turn. */
const READ_BUDGET_BYTES = 64 * 1024;

/** The reading state of one connection's socket. */
export class ConnectionInput {
  readonly #socket: Duplex;
  readonly #decoder: PacketDecoder;
  #closed = false;
  #held: Packet[] | undefined;
  /** Reading paused by publisher flow control. */
  #throttled = false;
  /** Bytes read since reading last yielded to the rest of the event loop. */
  #readSinceYield = 0;
  /** Reading paused until the next event-loop turn (see {@link counted}). */
  #yielding = false;

  constructor(socket: Duplex, decoder: PacketDecoder) {
    this.#socket = socket;
    this.#decoder = decoder;
  }

  /** Whether publisher flow control paused reading. */
  get throttled(): boolean {
    return this.#throttled;
  }

  /** Whether the broker itself does not read now (flow control, held packets): a slow packet is then not the client's fault. */
  get heldByBroker(): boolean {
    return this.#throttled || this.#held !== undefined;
  }

  /** Keeps `packet` for later when packets are held; false when it is to be handled now. */
  keep(packet: Packet): boolean {
    if (this.#held === undefined) return false;
    this.#held.push(packet);
    return true;
  }

  /**
   * Counts bytes read. A saturated socket can hand over megabytes in one poll phase (libuv reads up
   * to 32 x 64 KiB); output to TLS sockets only leaves between poll phases, so a long one fills
   * subscribers past the high-water mark and their QoS 0 is dropped. Pausing for one turn after
   * every 64 KiB read lets the writes go out (counted across turns: a slow reader pauses rarely, at no cost).
   */
  counted(bytes: number): void {
    this.#readSinceYield += bytes;
    if (this.#readSinceYield >= READ_BUDGET_BYTES && !this.#yielding && !this.#closed) {
      this.#yielding = true;
      this.#socket.pause();
      setImmediate(endYield, this);
    }
  }

  /** @internal the event loop turned: read again unless held or throttled. */
  endYield(): void {
    this.#yielding = false;
    this.#readSinceYield = 0;
    if (!this.#closed && this.#held === undefined && !this.#throttled) this.#socket.resume();
  }

  /** Holds incoming packets (and reading). */
  hold(): void {
    this.#held ??= [];
    this.#socket.pause();
  }

  /**
   * Replays held packets into `sink` in order and resumes reading. A replayed packet that holds
   * again (another long SUBSCRIBE) takes the packets after it into the new hold, and reading stays paused.
   */
  replayHeld(sink: PacketSink): void {
    const held = this.#held;
    this.#held = undefined;
    for (const packet of held ?? []) sink.onPacket(packet);
    if (!this.#closed && this.#held === undefined && !this.#throttled && !this.#yielding) {
      this.#decoder.restartPartialClock(); // the packet arriving gets a whole deadline after the pause
      this.#socket.resume();
    }
  }

  /** Stops reading for flow control. */
  throttle(): void {
    if (this.#throttled || this.#closed) return;
    this.#throttled = true;
    this.#socket.pause();
  }

  /** Reads again after flow control. */
  unthrottle(): void {
    if (!this.#throttled) return;
    this.#throttled = false;
    if (!this.#closed && this.#held === undefined && !this.#yielding) {
      this.#decoder.restartPartialClock(); // the packet arriving gets a whole deadline after the pause
      this.#socket.resume();
    }
  }

  /** The connection closes: held packets are dropped. */
  close(): void {
    this.#closed = true;
    this.#held = undefined;
  }
}

/** Runs in the check phase, after the turn's socket writes went out. */
function endYield(input: ConnectionInput): void {
  input.endYield();
}
