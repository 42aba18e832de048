/**
 * Minimal big-endian binary writer and reader for the record codec. The reader throws
 * {@link RecordFormatError} on any read past the end, so a truncated record never decodes.
 */

/** A record's bytes do not match the codec (truncated, unknown version, bad field). */
export class RecordFormatError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'RecordFormatError';
  }
}

/** Appends fields to a growing buffer. */
export class BinaryWriter {
  #buf: Buffer;
  #pos = 0;

  constructor(initialSize = 256) {
    this.#buf = Buffer.allocUnsafe(initialSize);
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + n));
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }

  u8(value: number): void {
    this.#ensure(1);
    this.#buf[this.#pos++] = value;
  }

  u16(value: number): void {
    this.#ensure(2);
    this.#buf.writeUInt16BE(value, this.#pos);
    this.#pos += 2;
  }

  u32(value: number): void {
    this.#ensure(4);
    this.#buf.writeUInt32BE(value, this.#pos);
    this.#pos += 4;
  }

  /** Any JS number (integers up to 2^53 exactly). */
  f64(value: number): void {
    this.#ensure(8);
    this.#buf.writeDoubleBE(value, this.#pos);
    this.#pos += 8;
  }

  /** Length-prefixed (u32) bytes. */
  bytes(value: Buffer): void {
    this.u32(value.length);
    this.#ensure(value.length);
    value.copy(this.#buf, this.#pos);
    this.#pos += value.length;
  }

  /** Length-prefixed (u32) UTF-8 string. */
  str(value: string): void {
    const len = Buffer.byteLength(value, 'utf8');
    this.u32(len);
    this.#ensure(len);
    this.#buf.write(value, this.#pos, len, 'utf8');
    this.#pos += len;
  }

  /** Name/value string pairs in order: a u32 count, then each name and value ({@link str}). */
  strPairs(pairs: ReadonlyArray<readonly [string, string]>): void {
    this.u32(pairs.length);
    for (const [name, value] of pairs) {
      this.str(name);
      this.str(value);
    }
  }

  /** Appends `n` bytes written by `write` (given the buffer and the position; returns the end). */
  fill(n: number, write: (out: Buffer, at: number) => number): void {
    this.#ensure(n);
    this.#pos = write(this.#buf, this.#pos);
  }

  /** The bytes written so far (a copy-free view of the used part). */
  finish(): Buffer {
    return this.#buf.subarray(0, this.#pos);
  }
}

/** Reads fields written by {@link BinaryWriter}, in the same order. */
export class BinaryReader {
  readonly #buf: Buffer;
  #pos = 0;

  constructor(buf: Buffer) {
    this.#buf = buf;
  }

  #take(n: number): number {
    if (this.#pos + n > this.#buf.length) throw new RecordFormatError(`truncated at byte ${this.#pos} (needs ${n} more)`);
    const at = this.#pos;
    this.#pos += n;
    return at;
  }

  u8(): number {
    return this.#buf.readUInt8(this.#take(1));
  }

  u16(): number {
    return this.#buf.readUInt16BE(this.#take(2));
  }

  u32(): number {
    return this.#buf.readUInt32BE(this.#take(4));
  }

  f64(): number {
    return this.#buf.readDoubleBE(this.#take(8));
  }

  /** A copy, so the record does not pin the store's read buffer. */
  bytes(): Buffer {
    const len = this.u32();
    const at = this.#take(len);
    return Buffer.from(this.#buf.subarray(at, at + len));
  }

  str(): string {
    const len = this.u32();
    const at = this.#take(len);
    return this.#buf.toString('utf8', at, at + len);
  }

  /** Name/value string pairs written by {@link BinaryWriter.strPairs}, in order. */
  strPairs(): [string, string][] {
    const count = this.u32();
    const pairs: [string, string][] = [];
    for (let i = 0; i < count; i++) pairs.push([this.str(), this.str()]);
    return pairs;
  }

  /** How many bytes are left to read (an optional trailing section is there when this is above 0). */
  remaining(): number {
    return this.#buf.length - this.#pos;
  }

  /** Throws unless every byte was read. */
  end(): void {
    if (this.#pos !== this.#buf.length) throw new RecordFormatError(`${this.#buf.length - this.#pos} trailing byte(s)`);
  }
}
