/**
 * How a packet breaks the protocol, which decides the answer (MQTT 5.0 section 4.13):
 * - `malformed`: it cannot be parsed as the specification says (0x81);
 * - `protocol-error`: it parses, but holds what the protocol forbids (0x82);
 * - `unsupported-version`: a CONNECT of a protocol level the broker does not speak [MQTT-3.1.2-2].
 */
export type ViolationKind = 'malformed' | 'protocol-error' | 'unsupported-version';

/** Thrown (or emitted by the parser) when a received packet violates the protocol. */
export class PacketViolation extends Error {
  readonly kind: ViolationKind;
  constructor(kind: ViolationKind, message: string) {
    super(message);
    this.name = 'PacketViolation';
    this.kind = kind;
  }
}
