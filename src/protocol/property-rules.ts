/**
 * MQTT 5.0 properties (section 2.2.2.2, Table 2-4): for each identifier, its wire type, the
 * property sections it may appear in, and the values the protocol allows. The one table the
 * decode-time validation (validate-properties.ts) reads.
 */

/** A property section: the properties of one packet type, or a CONNECT's will properties. */
export type PropertySection =
  | 'connect'
  | 'will'
  | 'connack'
  | 'publish'
  | 'puback'
  | 'pubrec'
  | 'pubrel'
  | 'pubcomp'
  | 'subscribe'
  | 'suback'
  | 'unsubscribe'
  | 'unsuback'
  | 'disconnect'
  | 'auth';

/** Wire types of property values (section 1.5). */
export type PropertyType = 'byte' | 'two-byte' | 'four-byte' | 'varint' | 'utf8' | 'binary' | 'pair';

/** A decoded property value, as the value check sees it. */
export type PropertyValue = number | string | Buffer | readonly [string, string];

/** What the protocol says of one property identifier. */
export interface PropertyRule {
  readonly name: string;
  readonly type: PropertyType;
  /** The sections it is valid in; anywhere else it makes the packet malformed [MQTT-2.2.2-2]. */
  readonly sections: ReadonlySet<PropertySection>;
  /** May appear more than once in a section a client sends (only User Property). */
  readonly repeatable: boolean;
  /** Why a value is a Protocol Error, or `undefined` when it is allowed. */
  readonly check?: (value: PropertyValue) => string | undefined;
}

const ALL_ACKS: PropertySection[] = ['puback', 'pubrec', 'pubrel', 'pubcomp'];

function rule(name: string, type: PropertyType, sections: PropertySection[], check?: PropertyRule['check']): PropertyRule {
  return { name, type, sections: new Set(sections), repeatable: name === 'User Property', ...(check !== undefined ? { check } : {}) };
}

/** Byte properties that are booleans: a value other than 0 or 1 is a Protocol Error. */
function zeroOrOne(value: PropertyValue): string | undefined {
  return value === 0 || value === 1 ? undefined : `value ${String(value)} is not 0 or 1`;
}

function nonZero(value: PropertyValue): string | undefined {
  return value === 0 ? 'value 0 is not allowed' : undefined;
}

/**
 * Table 2-4, keyed by identifier. Subscription Identifier may repeat only in a PUBLISH the
 * server sends [MQTT-3.3.4-4]; every section decoded here comes from a client, so it may not.
 */
export const PROPERTY_RULES: ReadonlyMap<number, PropertyRule> = new Map<number, PropertyRule>([
  // MQTT 5.0 3.3.2.3.2: 0 (unspecified bytes) or 1 (UTF-8); nothing else is defined
  [0x01, rule('Payload Format Indicator', 'byte', ['publish', 'will'], zeroOrOne)],
  [0x02, rule('Message Expiry Interval', 'four-byte', ['publish', 'will'])],
  [0x03, rule('Content Type', 'utf8', ['publish', 'will'])],
  [0x08, rule('Response Topic', 'utf8', ['publish', 'will'], responseTopic)],
  [0x09, rule('Correlation Data', 'binary', ['publish', 'will'])],
  // MQTT 5.0 3.8.2.1.2: a Subscription Identifier of 0 is a Protocol Error
  [0x0b, rule('Subscription Identifier', 'varint', ['publish', 'subscribe'], nonZero)],
  [0x11, rule('Session Expiry Interval', 'four-byte', ['connect', 'connack', 'disconnect'])],
  [0x12, rule('Assigned Client Identifier', 'utf8', ['connack'])],
  [0x13, rule('Server Keep Alive', 'two-byte', ['connack'])],
  [0x15, rule('Authentication Method', 'utf8', ['connect', 'connack', 'auth'])],
  [0x16, rule('Authentication Data', 'binary', ['connect', 'connack', 'auth'])],
  // MQTT 5.0 3.1.2.11.7 / 3.1.2.11.6: a value other than 0 or 1 is a Protocol Error
  [0x17, rule('Request Problem Information', 'byte', ['connect'], zeroOrOne)],
  [0x18, rule('Will Delay Interval', 'four-byte', ['will'])],
  [0x19, rule('Request Response Information', 'byte', ['connect'], zeroOrOne)],
  [0x1a, rule('Response Information', 'utf8', ['connack'])],
  [0x1c, rule('Server Reference', 'utf8', ['connack', 'disconnect'])],
  [0x1f, rule('Reason String', 'utf8', ['connack', ...ALL_ACKS, 'suback', 'unsuback', 'disconnect', 'auth'])],
  // MQTT 5.0 3.1.2.11.3: a Receive Maximum of 0 is a Protocol Error
  [0x21, rule('Receive Maximum', 'two-byte', ['connect', 'connack'], nonZero)],
  [0x22, rule('Topic Alias Maximum', 'two-byte', ['connect', 'connack'])],
  // a Topic Alias of 0 is refused by the PUBLISH handler with 0x94 Topic Alias invalid [MQTT-3.3.2-8]
  [0x23, rule('Topic Alias', 'two-byte', ['publish'])],
  [0x24, rule('Maximum QoS', 'byte', ['connack'], zeroOrOne)],
  [0x25, rule('Retain Available', 'byte', ['connack'], zeroOrOne)],
  [0x26, rule('User Property', 'pair', ['connect', 'will', 'connack', 'publish', ...ALL_ACKS, 'subscribe', 'suback', 'unsubscribe', 'unsuback', 'disconnect', 'auth'])],
  // MQTT 5.0 3.1.2.11.4: a Maximum Packet Size of 0 is a Protocol Error
  [0x27, rule('Maximum Packet Size', 'four-byte', ['connect', 'connack'], nonZero)],
  [0x28, rule('Wildcard Subscription Available', 'byte', ['connack'], zeroOrOne)],
  [0x29, rule('Subscription Identifier Available', 'byte', ['connack'], zeroOrOne)],
  [0x2a, rule('Shared Subscription Available', 'byte', ['connack'], zeroOrOne)],
]);

/** [MQTT-3.3.2-14] a Response Topic is a topic name: no wildcards (and, like every topic name, not empty [MQTT-4.7.3-1]). */
function responseTopic(value: PropertyValue): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (value.length === 0) return 'an empty Response Topic';
  return /[+#]/.test(value) ? `Response Topic ${JSON.stringify(value)} contains a wildcard` : undefined;
}

/** Identifier of Authentication Method and Authentication Data (for the cross-property rule). */
export const AUTHENTICATION_METHOD = 0x15;
export const AUTHENTICATION_DATA = 0x16;
