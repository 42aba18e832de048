/**
 * Field-level mutations of packet models (packet-model.ts), and byte-level ones of their encoding:
 * repeat, drop or corrupt a property, give it a wrong type, a wrong length or an id it may not
 * carry there; zero packet ids and identifiers; set reserved bits and invalid QoS; put bad strings
 * (invalid UTF-8, U+0000, wildcards, strings that grow past 65,535 bytes when re-encoded) in
 * topics, client ids and properties; truncate; add trailing bytes; flip and splice bytes.
 */
import { clonePacket, encodePacket, PROPERTY_TYPES, type PacketModel, type Part, type Prop, type PropType } from './packet-model.js';

/** A seeded source of choices. */
export class Chooser {
  readonly #rand: () => number;

  constructor(rand: () => number) {
    this.#rand = rand;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.#rand() * n);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.#rand() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

/** Strings that a broker must refuse or carry safely. */
const BAD_STRINGS: readonly Buffer[] = [
  Buffer.from([0xff, 0xfe, 0xfd]), // not UTF-8
  Buffer.from('a\u0000b'), // U+0000 [MQTT-1.5.4-2]
  Buffer.from([0xed, 0xa0, 0x80]), // a UTF-16 surrogate encoded [MQTT-1.5.4-1]
  Buffer.from('fz/#'),
  Buffer.from('fz/+/x'),
  Buffer.from(''),
  Buffer.from('$SYS/broker/uptime'),
  Buffer.from('/'.repeat(300)),
  Buffer.alloc(22_000, 0xff), // 66,000 bytes once decoded as U+FFFD and encoded again
  Buffer.alloc(3000, 0x61),
];

/** Integers at the edges of every field width. */
const EDGE_NUMBERS: readonly number[] = [0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0xffffffff, 268_435_455];

/** Property ids that do not exist, or that a client may never send in the packet at hand. */
const STRAY_PROPERTY_IDS: readonly number[] = [0x00, 0x04, 0x0c, 0x14, 0x20, 0x2b, 0x7f, 0x80, 0x12, 0x13, 0x1a, 0x1c, 0x24, 0x25, 0x28, 0x29, 0x2a, 0x0b, 0x23, 0x18, 0x15];

function propBlocks(model: PacketModel): Extract<Part, { kind: 'props' }>[] {
  return model.parts.filter((p): p is Extract<Part, { kind: 'props' }> => p.kind === 'props');
}

function partsOf<K extends Part['kind']>(model: PacketModel, kind: K): Extract<Part, { kind: K }>[] {
  return model.parts.filter((p): p is Extract<Part, { kind: K }> => p.kind === kind);
}

function valueFor(c: Chooser, type: PropType): Prop['value'] {
  switch (type) {
    case 'byte':
    case 'u16':
    case 'u32':
    case 'varint':
      return c.pick(EDGE_NUMBERS);
    case 'str':
    case 'bin':
      return c.pick(BAD_STRINGS);
    case 'pair':
      return [c.pick(BAD_STRINGS), c.pick(BAD_STRINGS)];
  }
}

/** A field-level mutation; false when the model has nothing it applies to. */
type Mutation = (c: Chooser, model: PacketModel) => boolean;

/** Named so a failure can say which mutations built the packet. */
export const MUTATIONS: Readonly<Record<string, Mutation>> = {
  'repeat-property': (c, m) => {
    const blocks = propBlocks(m).filter((b) => b.props.length > 0);
    if (blocks.length === 0) return false;
    const block = c.pick(blocks);
    const prop = c.pick(block.props);
    block.props.splice(c.int(block.props.length + 1), 0, { ...prop }); // [MQTT-2.2.2-2] only User Property may repeat
    return true;
  },
  'drop-property': (c, m) => {
    const blocks = propBlocks(m).filter((b) => b.props.length > 0);
    if (blocks.length === 0) return false;
    const block = c.pick(blocks);
    block.props.splice(c.int(block.props.length), 1);
    return true;
  },
  'corrupt-property-value': (c, m) => {
    const blocks = propBlocks(m).filter((b) => b.props.length > 0);
    if (blocks.length === 0) return false;
    const prop = c.pick(c.pick(blocks).props);
    prop.value = valueFor(c, PROPERTY_TYPES[prop.id] ?? 'byte');
    return true;
  },
  'property-wrong-type': (c, m) => {
    const blocks = propBlocks(m).filter((b) => b.props.length > 0);
    if (blocks.length === 0) return false;
    const prop = c.pick(c.pick(blocks).props);
    prop.as = c.pick<PropType>(['byte', 'u16', 'u32', 'varint', 'str', 'bin', 'pair']);
    return true;
  },
  'stray-property': (c, m) => {
    const blocks = propBlocks(m);
    if (blocks.length === 0) return false;
    const id = c.pick(STRAY_PROPERTY_IDS);
    c.pick(blocks).props.push({ id, value: valueFor(c, PROPERTY_TYPES[id] ?? 'byte') });
    return true;
  },
  'property-length': (c, m) => {
    const blocks = propBlocks(m);
    if (blocks.length === 0) return false;
    c.pick(blocks).length = c.pick([0, 1, 2, 5, 127, 128, 4096, 268_435_455]);
    return true;
  },
  'string-length': (c, m) => {
    const fields = [...partsOf(m, 'str'), ...partsOf(m, 'bin')];
    if (fields.length === 0) return false;
    const field = c.pick(fields);
    field.length = c.pick([0, field.value.length + 1, Math.max(0, field.value.length - 1), 0xffff]);
    return true;
  },
  'bad-string': (c, m) => {
    const fields = partsOf(m, 'str');
    if (fields.length === 0) return false;
    c.pick(fields).value = c.pick(BAD_STRINGS);
    return true;
  },
  'id-zero': (c, m) => {
    const ids = partsOf(m, 'u16').filter((p) => p.role === 'packet-id');
    const zeroable = propBlocks(m).flatMap((b) => b.props.filter((p) => p.id === 0x0b || p.id === 0x23 || p.id === 0x21 || p.id === 0x27));
    if (ids.length === 0 && zeroable.length === 0) return false;
    if (ids.length > 0 && (zeroable.length === 0 || c.chance(0.5))) c.pick(ids).value = 0;
    else c.pick(zeroable).value = 0;
    return true;
  },
  'reserved-bits': (c, m) => {
    const bytes = partsOf(m, 'u8').filter((p) => p.role === 'connect-flags' || p.role === 'sub-options');
    if (bytes.length === 0 || c.chance(0.4)) {
      m.flags = c.int(16); // reserved fixed-header flags [MQTT-2.1.3-1], QoS 3 on PUBLISH
      return true;
    }
    const field = c.pick(bytes);
    // CONNECT: reserved bit 0, will QoS 3, will flags without a will; SUBSCRIBE options: bits 6-7, QoS 3, Retain Handling 3
    field.value = field.role === 'connect-flags' ? field.value ^ c.pick([0x01, 0x18, 0x04, 0x20, 0x40, 0x80]) : field.value | c.pick([0x40, 0x80, 0x03, 0x30]);
    return true;
  },
  'wrong-level-or-reason': (c, m) => {
    const bytes = partsOf(m, 'u8').filter((p) => p.role === 'level' || p.role === 'reason');
    if (bytes.length === 0) return false;
    c.pick(bytes).value = c.pick([0, 3, 6, 0x80, 0x83, 0x8e, 0xff]);
    return true;
  },
  'drop-field': (c, m) => {
    if (m.parts.length === 0) return false;
    m.parts.splice(c.int(m.parts.length), 1);
    return true;
  },
  'trailing-bytes': (c, m) => {
    m.parts.push({ kind: 'raw', value: Buffer.from([c.int(256), c.int(256), c.int(256)].slice(0, 1 + c.int(3))) });
    return true;
  },
  'remaining-length': (c, m) => {
    m.remaining = c.pick([0, 1, 2, 3, 127, 128, 16_383, 16_384, 2_097_151, 268_435_455]);
    return true;
  },
};

/** How often each mutation is drawn: property mutations (the class of the repeated-property crash) weigh more. */
const WEIGHTS: Readonly<Record<string, number>> = {
  'repeat-property': 4,
  'corrupt-property-value': 3,
  'drop-property': 2,
  'property-wrong-type': 2,
  'stray-property': 2,
};

/** Mutation names, each as many times as its weight. */
const MUTATION_NAMES = Object.keys(MUTATIONS).flatMap((name) => Array.from({ length: WEIGHTS[name] ?? 1 }, () => name));

/** Byte-level damage to an encoded packet (the old byte fuzzer's cases). */
function damageBytes(c: Chooser, bytes: Buffer, other: Buffer): Buffer {
  switch (c.int(4)) {
    case 0: {
      const out = Buffer.from(bytes);
      for (let flips = 1 + c.int(4); flips > 0; flips--) out[c.int(out.length)] = c.int(256);
      return out;
    }
    case 1:
      return bytes.subarray(0, c.int(bytes.length)); // truncated, Remaining Length unchanged
    case 2:
      return Buffer.concat([bytes.subarray(0, c.int(bytes.length + 1)), other.subarray(c.int(other.length))]); // spliced
    default: {
      const out = Buffer.alloc(1 + c.int(64));
      for (let i = 0; i < out.length; i++) out[i] = c.int(256);
      return out;
    }
  }
}

/** One fuzzed packet: its bytes and the mutations that made it. */
export interface FuzzedPacket {
  readonly bytes: Buffer;
  readonly mutations: readonly string[];
}

/**
 * Mutates a copy of one of `pool`: one to three field-level mutations, then (one time in eight)
 * byte-level damage on top.
 */
export function fuzzPacket(c: Chooser, pool: readonly PacketModel[]): FuzzedPacket {
  const model = clonePacket(c.pick(pool));
  const applied: string[] = [];
  for (let n = 1 + c.int(3), tries = 0; applied.length < n && tries < 10; tries++) {
    const name = c.pick(MUTATION_NAMES);
    if ((MUTATIONS[name] as Mutation)(c, model)) applied.push(name);
  }
  let bytes = encodePacket(model);
  if (c.chance(0.125)) {
    bytes = damageBytes(c, bytes, encodePacket(c.pick(pool)));
    applied.push('byte-damage');
  }
  return { bytes, mutations: applied };
}
