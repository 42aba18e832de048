import { connect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';

/**
 * A byte-level MQTT client for exact packets and malformed input: sends raw bytes or
 * mqtt-packet objects and reads back decoded packets in order.
 */
export class RawClient {
  readonly socket: Socket;
  readonly #parser;
  readonly #packets: Packet[] = [];
  readonly #waiters: ((p: Packet | undefined) => void)[] = [];
  #closed = false;
  readonly closed: Promise<void>;
  #version: 4 | 5;
  /** The first error of parsing what the broker sent, if any (the connection is closed then). */
  parseError: unknown;

  private constructor(socket: Socket, version: 4 | 5) {
    this.socket = socket;
    this.#version = version;
    this.#parser = mqttPacket.parser({ protocolVersion: version });
    this.#parser.on('packet', (packet: Packet) => {
      const waiter = this.#waiters.shift();
      if (waiter !== undefined) waiter(packet);
      else this.#packets.push(packet);
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#parser.parse(chunk);
      } catch (error) {
        // Bytes this client cannot parse (e.g. a fuzzed CONNECT changed the protocol level): kept for the test, connection closed.
        this.parseError ??= error;
        socket.destroy();
      }
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.#closed = true;
        for (const waiter of this.#waiters.splice(0)) waiter(undefined);
        resolve();
      });
    });
    socket.on('error', () => undefined);
  }

  /**
   * Opens a TCP connection to 127.0.0.1; `version` selects how replies are parsed; `localAddress`
   * the source address (another loopback address such as 127.0.0.2 is another client address).
   */
  static async open(port: number, version: 4 | 5 = 5, localAddress?: string): Promise<RawClient> {
    const socket = connect({ port, host: '127.0.0.1', ...(localAddress !== undefined ? { localAddress } : {}) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    return new RawClient(socket, version);
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Writes raw bytes. */
  sendBytes(bytes: Buffer | number[]): void {
    this.socket.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  }

  /** Encodes and writes a packet with this client's protocol version. */
  send(packet: Packet): void {
    this.socket.write(mqttPacket.generate(packet, { protocolVersion: this.#version }));
  }

  /** Sends CONNECT and returns the CONNACK. */
  async connect(fields: Partial<mqttPacket.IConnectPacket> = {}): Promise<mqttPacket.IConnackPacket> {
    this.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: this.#version, clean: true, keepalive: 0, clientId: '', ...fields });
    const packet = await this.next();
    if (packet?.cmd !== 'connack') throw new Error(`expected CONNACK, got ${packet?.cmd ?? 'close'}`);
    return packet;
  }

  /** The next packet, or undefined when the connection closes first. */
  next(timeoutMs = 5000): Promise<Packet | undefined> {
    const queued = this.#packets.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#closed) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const waiter = (p: Packet | undefined): void => {
        clearTimeout(timer);
        resolve(p);
      };
      const timer = setTimeout(() => {
        // A waiter that timed out takes no packet: the next one stays for the next read.
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`no packet within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** Reads packets until one of `cmd` arrives (others are skipped); undefined on close. */
  async nextOf(cmd: Packet['cmd'], timeoutMs = 5000): Promise<Packet | undefined> {
    for (;;) {
      const packet = await this.next(timeoutMs);
      if (packet === undefined || packet.cmd === cmd) return packet;
    }
  }

  /** Closes the socket. */
  destroy(): void {
    this.socket.destroy();
  }
}
