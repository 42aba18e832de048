import { describe, expect, it } from 'vitest';
import type { PropertySection } from '../../../src/protocol/property-rules.js';
import { validatePropertySection } from '../../../src/protocol/validate-properties.js';
import { PacketViolation, type ViolationKind } from '../../../src/protocol/violation.js';
import { bin, cat, P, prop, props, str, u16, u32, vbi } from '../../helpers/packet-bytes.js';

/** The violation kind thrown for a section, or 'ok'. */
function verdict(bytes: Buffer, section: PropertySection): ViolationKind | 'ok' {
  try {
    validatePropertySection(bytes, section);
    return 'ok';
  } catch (error) {
    if (error instanceof PacketViolation) return error.kind;
    throw error;
  }
}

const userProperty = prop(P.userProperty, cat(str('k'), str('v')));

describe('validatePropertySection', () => {
  it('returns the section length and ignores the bytes after it (the payload)', () => {
    expect(validatePropertySection(Buffer.from([0x00, 0x61, 0x62]), 'publish')).toBe(1);
    const section = props(prop(P.contentType, str('text/plain')));
    expect(validatePropertySection(cat(section, [1, 2, 3]), 'publish')).toBe(section.length);
  });

  const cases: [name: string, section: PropertySection, bytes: Buffer, expected: ViolationKind | 'ok'][] = [
    ['User Property repeated', 'publish', props(userProperty, userProperty), 'ok'],
    ['every will property once', 'will', props(prop(P.payloadFormat, [1]), prop(P.messageExpiry, u32(5)), prop(P.contentType, str('c')), prop(P.responseTopic, str('r/t')), prop(P.correlationData, bin([1])), prop(P.willDelay, u32(2)), userProperty), 'ok'],
    ['every CONNECT property once', 'connect', props(prop(P.sessionExpiry, u32(9)), prop(P.receiveMaximum, u16(10)), prop(P.maximumPacketSize, u32(100)), prop(P.topicAliasMaximum, u16(3)), prop(P.requestResponse, [1]), prop(P.requestProblem, [0]), prop(P.authMethod, str('m')), prop(P.authData, bin([1])), userProperty), 'ok'],
    ['Content Type twice in a will [MQTT-2.2.2-2]', 'will', props(prop(P.contentType, str('a')), prop(P.contentType, str('b'))), 'protocol-error'],
    ['Correlation Data twice in a PUBLISH', 'publish', props(prop(P.correlationData, bin([1])), prop(P.correlationData, bin([2]))), 'protocol-error'],
    ['Session Expiry twice in a CONNECT', 'connect', props(prop(P.sessionExpiry, u32(1)), prop(P.sessionExpiry, u32(2))), 'protocol-error'],
    ['Will Delay twice', 'will', props(prop(P.willDelay, u32(1)), prop(P.willDelay, u32(1))), 'protocol-error'],
    ['two Subscription Identifiers in a SUBSCRIBE', 'subscribe', props(prop(P.subscriptionId, vbi(1)), prop(P.subscriptionId, vbi(2))), 'protocol-error'],
    ['two Subscription Identifiers in a client PUBLISH', 'publish', props(prop(P.subscriptionId, vbi(1)), prop(P.subscriptionId, vbi(2))), 'protocol-error'],
    ['Reason String twice in a PUBACK', 'puback', props(prop(P.reasonString, str('a')), prop(P.reasonString, str('b'))), 'protocol-error'],
    ['Payload Format Indicator in a CONNECT', 'connect', props(prop(P.payloadFormat, [0])), 'malformed'],
    ['Topic Alias in a CONNECT', 'connect', props(prop(P.topicAlias, u16(1))), 'malformed'],
    ['Topic Alias in a will', 'will', props(prop(P.topicAlias, u16(1))), 'malformed'],
    ['Session Expiry (CONNECT only) in a PUBLISH', 'publish', props(prop(P.sessionExpiry, u32(1))), 'malformed'],
    ['Content Type in a PUBACK', 'puback', props(prop(P.contentType, str('c'))), 'malformed'],
    ['Will Delay in a CONNECT (not in the will)', 'connect', props(prop(P.willDelay, u32(1))), 'malformed'],
    ['an unknown identifier', 'publish', props([0x7f, 0x00]), 'malformed'],
    ['a value cut short by the section end', 'publish', props([P.messageExpiry, 0x00, 0x00]), 'malformed'],
    ['a Property Length past the end of the packet', 'publish', Buffer.from([0x05, P.payloadFormat, 0x01]), 'malformed'],
    ['a Property Length of five bytes', 'publish', Buffer.from([0x80, 0x80, 0x80, 0x80, 0x01]), 'malformed'],
    ['ill-formed UTF-8 in Content Type [MQTT-1.5.4-1]', 'publish', props(prop(P.contentType, str([0xc3, 0x28]))), 'malformed'],
    ['U+0000 in a User Property [MQTT-1.5.4-2]', 'publish', props(prop(P.userProperty, cat(str('k\u0000'), str('v')))), 'malformed'],
    ['Payload Format Indicator 2', 'publish', props(prop(P.payloadFormat, [2])), 'protocol-error'],
    ['Request Problem Information 2', 'connect', props(prop(P.requestProblem, [2])), 'protocol-error'],
    ['Request Response Information 2', 'connect', props(prop(P.requestResponse, [2])), 'protocol-error'],
    ['Receive Maximum 0', 'connect', props(prop(P.receiveMaximum, u16(0))), 'protocol-error'],
    ['Maximum Packet Size 0', 'connect', props(prop(P.maximumPacketSize, u32(0))), 'protocol-error'],
    ['Subscription Identifier 0', 'subscribe', props(prop(P.subscriptionId, vbi(0))), 'protocol-error'],
    ['a Response Topic with a wildcard [MQTT-3.3.2-14]', 'publish', props(prop(P.responseTopic, str('replies/#'))), 'protocol-error'],
    ['a will Response Topic with +', 'will', props(prop(P.responseTopic, str('replies/+/x'))), 'protocol-error'],
    ['Authentication Data without an Authentication Method', 'connect', props(prop(P.authData, bin([1]))), 'protocol-error'],
  ];
  for (const [name, section, bytes, expected] of cases) {
    it(`${name}: ${expected}`, () => {
      expect(verdict(bytes, section)).toBe(expected);
    });
  }
});
