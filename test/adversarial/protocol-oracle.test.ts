import type { Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReasonCode as R } from '../../src/protocol/reason-codes.js';
import {
  connectBystanders,
  expectBystandersServed,
  expectClosed,
  expectClosedSilently,
  expectDisconnect,
  pingBarrier,
  varInt,
  type Bystanders,
} from '../helpers/bad-input.js';
import { bin, cat, connectBytes, P, packet, prop, props, publishBytes, str, subscribeBytes, u16, u32, unsubscribeBytes, vbi } from '../helpers/packet-bytes.js';
import { RawClient } from '../helpers/raw-client.js';
import { startBroker, type RunningBroker } from '../helpers/start-broker.js';

/**
 * The protocol oracle: one case per MUST of MQTT 5.0 / 3.1.1 about the server's reaction to bad
 * input, each tagged with its conformance id (or, where the specification states the rule
 * without one, its section). Raw bytes against one real broker; after every case a healthy pair
 * of clients must still exchange a message.
 */

/** Limits of the oracle's broker (small, so the limit cases are cheap). */
const MAX_PACKET = 4096;
const TOPIC_ALIAS_MAXIMUM = 10;
const RECEIVE_MAXIMUM = 2;

/** What the broker must do. */
type Reaction =
  | { readonly connack: number } // MQTT 5 CONNACK with this reason code, then close
  | { readonly connackV3: number } // MQTT 3.1.1 CONNACK with this return code, then close
  | { readonly disconnect: number } // MQTT 5 DISCONNECT with this reason code, then close
  | { readonly suback: number[] } // SUBACK with these codes; the connection stays
  | 'close'; // close without sending anything

interface OracleCase {
  readonly title: string;
  readonly version: 4 | 5;
  /** Bytes sent; after a successful CONNECT unless `first`. */
  readonly bytes: Buffer;
  /** The bytes are the connection's first (no CONNECT before them). */
  readonly first?: boolean;
  /** Packets (by type) the broker answers before its reaction. */
  readonly before?: Packet['cmd'][];
  readonly then: Reaction;
}

const v5Publish = (f: Parameters<typeof publishBytes>[0]): Buffer => publishBytes({ v5: true, ...f });
const utf8Bad = [0x61, 0xc3, 0x28];
const nul = 'a\u0000b';

/** First packets: the CONNECT and what comes instead of it. */
const CONNECT_CASES: OracleCase[] = [
  { title: '[MQTT-3.1.0-1] a PUBLISH as first packet closes the connection', version: 4, first: true, bytes: publishBytes({ topic: 'a' }), then: 'close' },
  { title: '[MQTT-3.1.0-1] a PINGREQ as first packet closes the connection', version: 5, first: true, bytes: Buffer.from([0xc0, 0x00]), then: 'close' },
  { title: '[MQTT-3.1.0-1] non-MQTT bytes (an HTTP request) close the connection at once', version: 5, first: true, bytes: Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), then: 'close' },
  { title: '[MQTT-3.1.0-1] a partial first packet of another type closes at once, before its body', version: 5, first: true, bytes: Buffer.from([0x82, 0x7f, 0x00]), then: 'close' },
  { title: '[MQTT-2.1.3-1] a CONNECT with reserved fixed-header flags set closes the connection', version: 5, first: true, bytes: cat([0x11], connectBytes().subarray(1)), then: 'close' },
  { title: '[MQTT-3.1.2-1] a CONNECT with protocol name "MQTX" closes the connection', version: 4, first: true, bytes: connectBytes({ protocolName: 'MQTX', level: 4 }), then: 'close' },
  { title: '[MQTT-3.1.2-1] protocol name "MQIsdp" with level 4 closes the connection', version: 4, first: true, bytes: connectBytes({ protocolName: 'MQIsdp', level: 4 }), then: 'close' },
  { title: '[MQTT-3.1.2-2] protocol level 6 gets return code 0x01, then close', version: 4, first: true, bytes: connectBytes({ level: 6 }), then: { connackV3: 1 } },
  { title: '[MQTT-3.1.2-2] protocol level 3 (MQTT 3.1) gets return code 0x01, then close', version: 4, first: true, bytes: connectBytes({ protocolName: 'MQIsdp', level: 3, clientId: 'v31' }), then: { connackV3: 1 } },
  { title: '[MQTT-3.1.2-3] the reserved connect flag set is malformed (0x81)', version: 5, first: true, bytes: connectBytes({ flags: 0x03 }), then: { connack: R.MalformedPacket } },
  { title: '[MQTT-3.1.2-3] the reserved connect flag set closes a 3.1.1 connection', version: 4, first: true, bytes: connectBytes({ level: 4, flags: 0x03 }), then: 'close' },
  { title: '[MQTT-3.1.2-11] Will QoS 1 without the Will Flag is malformed', version: 5, first: true, bytes: connectBytes({ flags: 0x0a }), then: { connack: R.MalformedPacket } },
  { title: '[MQTT-3.1.2-13] Will Retain without the Will Flag is malformed', version: 5, first: true, bytes: connectBytes({ flags: 0x22 }), then: { connack: R.MalformedPacket } },
  { title: '[MQTT-3.1.2-12] Will QoS 3 is malformed', version: 5, first: true, bytes: connectBytes({ clientId: 'wq3', will: { topic: 'w', qos: 3 } }), then: { connack: R.MalformedPacket } },
  { title: '[MQTT-3.1.2-12] Will QoS 3 closes a 3.1.1 connection', version: 4, first: true, bytes: connectBytes({ level: 4, clientId: 'wq3', will: { topic: 'w', qos: 3 } }), then: 'close' },
  { title: '[MQTT-3.1.2-9] the Will Flag without will properties, topic and payload is malformed', version: 5, first: true, bytes: connectBytes({ flags: 0x06, clientId: 'nowill' }), then: { connack: R.MalformedPacket } },
  { title: '[MQTT-3.1.2-19] the User Name Flag without a user name is malformed', version: 5, first: true, bytes: connectBytes({ flags: 0x82, clientId: 'nouser' }), then: { connack: R.MalformedPacket } },
  { title: '[MQTT-3.1.2-21] the Password Flag without a password is malformed', version: 5, first: true, bytes: connectBytes({ flags: 0x42, clientId: 'nopass' }), then: { connack: R.MalformedPacket } },
  { title: '[MQTT-3.1.2-22] 3.1.1: a password without a user name closes the connection', version: 4, first: true, bytes: connectBytes({ level: 4, clientId: 'pw', password: Buffer.from('secret') }), then: 'close' },
  { title: '[MQTT-1.5.4-2] U+0000 in the client id is malformed', version: 5, first: true, bytes: connectBytes({ clientId: nul }), then: { connack: R.MalformedPacket } },
  { title: '[MQTT-1.5.3-2] 3.1.1: U+0000 in the client id closes the connection', version: 4, first: true, bytes: connectBytes({ level: 4, clientId: nul }), then: 'close' },
  { title: '[MQTT-1.5.4-1] ill-formed UTF-8 in the client id is malformed', version: 5, first: true, bytes: connectBytes({ clientId: utf8Bad }), then: { connack: R.MalformedPacket } },
  { title: '[MQTT-1.5.4-2] U+0000 in the user name is malformed', version: 5, first: true, bytes: connectBytes({ clientId: 'u0', username: nul }), then: { connack: R.MalformedPacket } },
  { title: '[MQTT-3.1.3-8] 3.1.1: an empty client id with Clean Session 0 gets return code 0x02', version: 4, first: true, bytes: connectBytes({ level: 4, clean: false }), then: { connackV3: 2 } },
  { title: '[MQTT-3.1.4-1] trailing bytes after the CONNECT payload are malformed', version: 5, first: true, bytes: connectBytes({ clientId: 'tail', trailing: [0x00, 0x01] }), then: { connack: R.MalformedPacket } },
  { title: '[MQTT-3.1.4-1] 3.1.1: trailing bytes after the CONNECT payload close the connection', version: 4, first: true, bytes: connectBytes({ level: 4, clientId: 'tail', trailing: [0x00] }), then: 'close' },
  { title: '[MQTT-2.2.2-2] Session Expiry Interval twice is a Protocol Error (3.1.2.11.2)', version: 5, first: true, bytes: connectBytes({ properties: props(prop(P.sessionExpiry, u32(1)), prop(P.sessionExpiry, u32(2))) }), then: { connack: R.ProtocolError } },
  { title: '[MQTT-2.2.2-2] Will Delay Interval twice is a Protocol Error (3.1.3.2.2)', version: 5, first: true, bytes: connectBytes({ will: { topic: 'w', properties: props(prop(P.willDelay, u32(1)), prop(P.willDelay, u32(1))) } }), then: { connack: R.ProtocolError } },
  { title: '[MQTT-2.2.2-2] will Content Type twice is a Protocol Error (3.1.3.2.5)', version: 5, first: true, bytes: connectBytes({ will: { topic: 'w', properties: props(prop(P.contentType, str('a')), prop(P.contentType, str('b'))) } }), then: { connack: R.ProtocolError } },
  { title: '[MQTT-2.2.2-2] will Correlation Data twice is a Protocol Error (3.1.3.2.7)', version: 5, first: true, bytes: connectBytes({ will: { topic: 'w', properties: props(prop(P.correlationData, bin([1])), prop(P.correlationData, bin([2]))) } }), then: { connack: R.ProtocolError } },
  { title: '[MQTT-3.3.2-14] a will Response Topic with a wildcard is a Protocol Error', version: 5, first: true, bytes: connectBytes({ will: { topic: 'w', properties: props(prop(P.responseTopic, str('r/#'))) } }), then: { connack: R.ProtocolError } },
  { title: '[MQTT-2.2.2-2] Topic Alias in the will properties is malformed (2.2.2.2)', version: 5, first: true, bytes: connectBytes({ will: { topic: 'w', properties: props(prop(P.topicAlias, u16(1))) } }), then: { connack: R.MalformedPacket } },
  { title: '[MQTT-2.2.2-2] Request Problem Information 2 is a Protocol Error (3.1.2.11.7)', version: 5, first: true, bytes: connectBytes({ properties: props(prop(P.requestProblem, [2])) }), then: { connack: R.ProtocolError } },
  { title: '[MQTT-2.2.2-2] Request Response Information 2 is a Protocol Error (3.1.2.11.6)', version: 5, first: true, bytes: connectBytes({ properties: props(prop(P.requestResponse, [2])) }), then: { connack: R.ProtocolError } },
  { title: '[MQTT-2.2.2-2] Payload Format Indicator in CONNECT properties is malformed (2.2.2.2)', version: 5, first: true, bytes: connectBytes({ properties: props(prop(P.payloadFormat, [1])) }), then: { connack: R.MalformedPacket } },
  { title: '[MQTT-2.2.2-2] Topic Alias in CONNECT properties is malformed (2.2.2.2)', version: 5, first: true, bytes: connectBytes({ properties: props(prop(P.topicAlias, u16(1))) }), then: { connack: R.MalformedPacket } },
  { title: '[MQTT-2.2.2-2] an unknown property identifier in CONNECT is malformed', version: 5, first: true, bytes: connectBytes({ properties: props([0x7f, 0x00]) }), then: { connack: R.MalformedPacket } },
  { title: '[MQTT-2.2.2-2] Authentication Data without an Authentication Method is a Protocol Error (3.1.2.11.10)', version: 5, first: true, bytes: connectBytes({ properties: props(prop(P.authData, bin([1]))) }), then: { connack: R.ProtocolError } },
  { title: '[MQTT-2.2.2-2] Receive Maximum 0 is a Protocol Error (3.1.2.11.3)', version: 5, first: true, bytes: connectBytes({ properties: props(prop(P.receiveMaximum, u16(0))) }), then: { connack: R.ProtocolError } },
  { title: '[MQTT-2.2.2-2] Maximum Packet Size 0 is a Protocol Error (3.1.2.11.4)', version: 5, first: true, bytes: connectBytes({ properties: props(prop(P.maximumPacketSize, u32(0))) }), then: { connack: R.ProtocolError } },
  { title: '[MQTT-2.2.2-2] a Property Length past the end of the CONNECT is malformed', version: 5, first: true, bytes: connectBytes({ properties: [0x40, P.sessionExpiry] }), then: { connack: R.MalformedPacket } },
  { title: '[MQTT-4.7.0-1] a will topic with a wildcard is refused with 0x90', version: 5, first: true, bytes: connectBytes({ will: { topic: 'w/#' } }), then: { connack: R.TopicNameInvalid } },
  { title: '[MQTT-4.7.1-1] 3.1.1: a will topic with a wildcard closes the connection (no return code fits)', version: 4, first: true, bytes: connectBytes({ level: 4, clientId: 'wt', will: { topic: 'w/+' } }), then: 'close' },
];

/** Packets after a successful MQTT 5 CONNECT. */
const V5_CASES: OracleCase[] = [
  { title: '[MQTT-3.1.0-2] a second CONNECT is a Protocol Error', version: 5, bytes: connectBytes({ clientId: 'again' }), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-1.5.5-1] a Remaining Length of five bytes is malformed', version: 5, bytes: Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-4.13.1-1] a packet of forbidden type 0 is malformed (2.1.2)', version: 5, bytes: Buffer.from([0x00, 0x00]), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-3.6.1-1] PUBREL with fixed-header flags 0 is malformed', version: 5, bytes: Buffer.from([0x60, 0x02, 0x00, 0x01]), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-3.8.1-1] SUBSCRIBE with fixed-header flags 0 is malformed', version: 5, bytes: cat([0x80], subscribeBytes({ filters: [['a', 0]] }).subarray(1)), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-3.10.1-1] UNSUBSCRIBE with fixed-header flags 0 is malformed', version: 5, bytes: cat([0xa0], unsubscribeBytes({ filters: ['a'] }).subarray(1)), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-2.1.3-1] PINGREQ with a reserved flag set is malformed', version: 5, bytes: Buffer.from([0xc1, 0x00]), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-4.13.1-1] PINGREQ with a body (Remaining Length 1) is malformed (3.12.1)', version: 5, bytes: Buffer.from([0xc0, 0x01, 0x00]), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-3.3.1-4] QoS 3 PUBLISH is malformed', version: 5, bytes: cat([0x36], v5Publish({ topic: 'a', qos: 1 }).subarray(1)), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-3.3.1-2] DUP on a QoS 0 PUBLISH is a Protocol Error', version: 5, bytes: v5Publish({ topic: 'a', dup: true }), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-3.3.2-2] a PUBLISH topic with a wildcard gets 0x90', version: 5, bytes: v5Publish({ topic: 'a/+' }), then: { disconnect: R.TopicNameInvalid } },
  { title: '[MQTT-4.7.3-1] an empty PUBLISH topic without a Topic Alias is a Protocol Error (3.3.2.1)', version: 5, bytes: v5Publish({ topic: '' }), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-1.5.4-2] U+0000 in a PUBLISH topic is malformed', version: 5, bytes: v5Publish({ topic: nul }), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-1.5.4-1] ill-formed UTF-8 in a PUBLISH topic is malformed', version: 5, bytes: v5Publish({ topic: utf8Bad }), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-3.3.2-8] Topic Alias 0 gets 0x94', version: 5, bytes: v5Publish({ topic: 'a', properties: props(prop(P.topicAlias, u16(0))) }), then: { disconnect: R.TopicAliasInvalid } },
  { title: '[MQTT-3.3.2-9] a Topic Alias above the broker maximum gets 0x94', version: 5, bytes: v5Publish({ topic: 'a', properties: props(prop(P.topicAlias, u16(TOPIC_ALIAS_MAXIMUM + 1))) }), then: { disconnect: R.TopicAliasInvalid } },
  { title: '[MQTT-4.13.1-1] an empty topic with a Topic Alias never defined is a Protocol Error (3.3.2.3.4)', version: 5, bytes: v5Publish({ topic: '', properties: props(prop(P.topicAlias, u16(5))) }), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-2.2.1-3] a QoS 1 PUBLISH with Packet Identifier 0 is a Protocol Error', version: 5, bytes: v5Publish({ topic: 'a', qos: 1, packetId: 0 }), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-2.2.1-3] a QoS 2 PUBLISH with Packet Identifier 0 is a Protocol Error', version: 5, bytes: v5Publish({ topic: 'a', qos: 2, packetId: 0 }), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-2.2.2-2] Payload Format Indicator 2 is a Protocol Error (3.3.2.3.2)', version: 5, bytes: v5Publish({ topic: 'a', properties: props(prop(P.payloadFormat, [2])) }), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-3.3.2-14] a Response Topic with a wildcard is a Protocol Error', version: 5, bytes: v5Publish({ topic: 'a', properties: props(prop(P.responseTopic, str('replies/+'))) }), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-2.2.2-2] a CONNECT-only property (Session Expiry) on a PUBLISH is malformed (2.2.2.2)', version: 5, bytes: v5Publish({ topic: 'a', properties: props(prop(P.sessionExpiry, u32(5))) }), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-2.2.2-2] a CONNECT-only property (Receive Maximum) on a PUBLISH is malformed (2.2.2.2)', version: 5, bytes: v5Publish({ topic: 'a', properties: props(prop(P.receiveMaximum, u16(5))) }), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-3.3.4-6] a client PUBLISH with a Subscription Identifier is a Protocol Error', version: 5, bytes: v5Publish({ topic: 'a', properties: props(prop(P.subscriptionId, vbi(1))) }), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-3.3.4-6] a client PUBLISH with two Subscription Identifiers is a Protocol Error', version: 5, bytes: v5Publish({ topic: 'a', properties: props(prop(P.subscriptionId, vbi(1)), prop(P.subscriptionId, vbi(2))) }), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-2.2.2-2] Content Type twice on a PUBLISH is a Protocol Error (3.3.2.3.9)', version: 5, bytes: v5Publish({ topic: 'a', properties: props(prop(P.contentType, str('a')), prop(P.contentType, str('b'))) }), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-2.2.2-2] a retained PUBLISH with Correlation Data twice is a Protocol Error', version: 5, bytes: v5Publish({ topic: 'a', retain: true, properties: props(prop(P.correlationData, bin([1])), prop(P.correlationData, bin([2]))) }), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-2.2.2-2] a PUBLISH Property Length past the end of the packet is malformed', version: 5, bytes: packet(0x30, str('a'), [0x20, P.payloadFormat, 0x01]), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-4.13.1-1] a PUBLISH topic longer than the packet is malformed (1.5.4)', version: 5, bytes: packet(0x30, u16(40), Buffer.from('abc')), then: { disconnect: R.MalformedPacket } },
  {
    title: '[MQTT-3.3.4-7] more unacknowledged QoS 2 PUBLISHes than Receive Maximum get 0x93',
    version: 5,
    bytes: cat(v5Publish({ topic: 'rm', qos: 2, packetId: 1 }), v5Publish({ topic: 'rm', qos: 2, packetId: 2 }), v5Publish({ topic: 'rm', qos: 2, packetId: 3 })),
    before: ['pubrec', 'pubrec'],
    then: { disconnect: R.ReceiveMaximumExceeded },
  },
  { title: '[MQTT-3.2.2-15] a packet above the Maximum Packet Size gets 0x95 from its fixed header (3.2.2.3.6)', version: 5, bytes: Buffer.from([0x30, ...varInt(MAX_PACKET)]), then: { disconnect: R.PacketTooLarge } },
  { title: '[MQTT-3.8.3-2] SUBSCRIBE without a topic filter is a Protocol Error', version: 5, bytes: subscribeBytes({ filters: [] }), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-3.8.3-5] reserved bits in the Subscription Options are malformed', version: 5, bytes: subscribeBytes({ filters: [['a', 0x40]] }), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-4.13.1-1] Maximum QoS 3 in the Subscription Options is a Protocol Error (3.8.3.1)', version: 5, bytes: subscribeBytes({ filters: [['a', 0x03]] }), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-4.13.1-1] Retain Handling 3 is a Protocol Error (3.8.3.1)', version: 5, bytes: subscribeBytes({ filters: [['a', 0x30]] }), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-3.8.3-4] No Local on a shared subscription is a Protocol Error', version: 5, bytes: subscribeBytes({ filters: [['$share/g/a', 0x04]] }), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-2.2.1-3] SUBSCRIBE with Packet Identifier 0 is a Protocol Error', version: 5, bytes: subscribeBytes({ packetId: 0, filters: [['a', 0]] }), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-2.2.2-2] SUBSCRIBE with two Subscription Identifiers is a Protocol Error (3.8.2.1.2)', version: 5, bytes: subscribeBytes({ properties: props(prop(P.subscriptionId, vbi(1)), prop(P.subscriptionId, vbi(2))), filters: [['a', 0]] }), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-2.2.2-2] Subscription Identifier 0 is a Protocol Error (3.8.2.1.2)', version: 5, bytes: subscribeBytes({ properties: props(prop(P.subscriptionId, vbi(0))), filters: [['a', 0]] }), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-2.2.2-2] a Content Type on a SUBSCRIBE is malformed (2.2.2.2)', version: 5, bytes: subscribeBytes({ properties: props(prop(P.contentType, str('c'))), filters: [['a', 0]] }), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-1.5.4-2] U+0000 in a topic filter is malformed', version: 5, bytes: subscribeBytes({ filters: [[nul, 0]] }), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-4.8.2-1] a shared subscription without a filter gets SUBACK 0x8F', version: 5, bytes: subscribeBytes({ packetId: 7, filters: [['$share/g', 0]] }), then: { suback: [R.TopicFilterInvalid] } },
  { title: '[MQTT-4.8.2-2] a ShareName with a wildcard gets SUBACK 0x8F', version: 5, bytes: subscribeBytes({ packetId: 7, filters: [['$share/g+/a', 0]] }), then: { suback: [R.TopicFilterInvalid] } },
  { title: '[MQTT-4.7.1-1] a multi-level wildcard not last gets SUBACK 0x8F', version: 5, bytes: subscribeBytes({ packetId: 7, filters: [['a/#/b', 0], ['ok/#', 1]] }), then: { suback: [R.TopicFilterInvalid, 1] } },
  { title: '[MQTT-4.7.1-2] a single-level wildcard sharing its level gets SUBACK 0x8F', version: 5, bytes: subscribeBytes({ packetId: 7, filters: [['a/b+', 0]] }), then: { suback: [R.TopicFilterInvalid] } },
  { title: '[MQTT-3.10.3-2] UNSUBSCRIBE without a topic filter is a Protocol Error', version: 5, bytes: unsubscribeBytes({ filters: [] }), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-2.2.1-3] UNSUBSCRIBE with Packet Identifier 0 is a Protocol Error', version: 5, bytes: unsubscribeBytes({ packetId: 0, filters: ['a'] }), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-2.2.2-2] a Subscription Identifier on an UNSUBSCRIBE is malformed (2.2.2.2)', version: 5, bytes: unsubscribeBytes({ properties: props(prop(P.subscriptionId, vbi(1))), filters: ['a'] }), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-2.2.2-2] a Content Type on a PUBACK is malformed (2.2.2.2)', version: 5, bytes: packet(0x40, u16(1), [0x00], props(prop(P.contentType, str('c')))), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-2.2.2-2] Reason String twice on a PUBACK is a Protocol Error (3.4.2.2.2)', version: 5, bytes: packet(0x40, u16(1), [0x00], props(prop(P.reasonString, str('a')), prop(P.reasonString, str('b')))), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-2.2.2-2] a Session Expiry on a PUBREC is malformed (2.2.2.2)', version: 5, bytes: packet(0x50, u16(1), [0x00], props(prop(P.sessionExpiry, u32(1)))), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-1.5.4-2] User Property with U+0000 on a PUBCOMP is malformed', version: 5, bytes: packet(0x70, u16(1), [0x00], props(prop(P.userProperty, cat(str(nul), str('v'))))), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-4.13.1-1] a PUBACK with a truncated Packet Identifier is malformed, not an internal error (3.4.2)', version: 5, bytes: Buffer.from([0x40, 0x01, 0x00]), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-4.13.1-1] a PUBREL with no Packet Identifier at all (Remaining Length 0) is malformed (3.6.2)', version: 5, bytes: Buffer.from([0x62, 0x00]), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-4.13.1-1] a PUBREC with no Packet Identifier at all (Remaining Length 0) is malformed (3.5.2)', version: 5, bytes: Buffer.from([0x50, 0x00]), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-3.4.2-1] a PUBACK with an invalid reason code is malformed (3.4.2.1)', version: 5, bytes: Buffer.from([0x40, 0x03, 0x00, 0x01, 0x01]), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-4.13.1-1] trailing bytes after a PUBCOMP\'s properties are malformed (3.7.2)', version: 5, bytes: packet(0x70, u16(1), [0x00], [0x00], [0xff]), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-3.14.2-1] DISCONNECT with an invalid reason code is malformed (3.14.2.1)', version: 5, bytes: Buffer.from([0xe0, 0x01, 0x03]), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-4.13.1-1] DISCONNECT setting a Session Expiry when CONNECT had 0 is a Protocol Error (3.14.2.2.2)', version: 5, bytes: packet(0xe0, [0x00], props(prop(P.sessionExpiry, u32(10)))), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-2.2.2-2] a Receive Maximum on a DISCONNECT is malformed (2.2.2.2)', version: 5, bytes: packet(0xe0, [0x00], props(prop(P.receiveMaximum, u16(1)))), then: { disconnect: R.MalformedPacket } },
  { title: '[MQTT-4.12.0-7] AUTH when CONNECT named no Authentication Method is a Protocol Error', version: 5, bytes: packet(0xf0, [0x19], props(prop(P.authMethod, str('x')))), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-2.2.2-2] Authentication Method twice on an AUTH is a Protocol Error (3.15.2.2.2)', version: 5, bytes: packet(0xf0, [0x19], props(prop(P.authMethod, str('x')), prop(P.authMethod, str('y')))), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-4.13.1-1] a CONNACK from a client is a Protocol Error (2.1.2: server to client only)', version: 5, bytes: Buffer.from([0x20, 0x03, 0x00, 0x00, 0x00]), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-4.13.1-1] a SUBACK from a client is a Protocol Error (2.1.2: server to client only)', version: 5, bytes: packet(0x90, u16(1), [0x00], [0x00]), then: { disconnect: R.ProtocolError } },
  { title: '[MQTT-4.13.1-1] a PINGRESP from a client is a Protocol Error (2.1.2: server to client only)', version: 5, bytes: Buffer.from([0xd0, 0x00]), then: { disconnect: R.ProtocolError } },
];

/** Packets after a successful MQTT 3.1.1 CONNECT: a violation closes the connection (3.1.1 has no DISCONNECT from the server). */
const V311_CASES: OracleCase[] = [
  { title: '[MQTT-3.1.0-2] 3.1.1: a second CONNECT closes the connection', version: 4, bytes: connectBytes({ level: 4, clientId: 'again' }), then: 'close' },
  { title: '[MQTT-2.2.2-2] 3.1.1: PUBREL with fixed-header flags 0 closes the connection', version: 4, bytes: Buffer.from([0x60, 0x02, 0x00, 0x01]), then: 'close' },
  { title: '[MQTT-4.8.0-1] 3.1.1: a PUBREL without its Packet Identifier closes the connection', version: 4, bytes: Buffer.from([0x62, 0x00]), then: 'close' },
  { title: '[MQTT-3.3.1-4] 3.1.1: QoS 3 PUBLISH closes the connection', version: 4, bytes: cat([0x36], publishBytes({ topic: 'a', qos: 1 }).subarray(1)), then: 'close' },
  { title: '[MQTT-2.3.1-1] 3.1.1: a QoS 1 PUBLISH with Packet Identifier 0 closes the connection', version: 4, bytes: publishBytes({ topic: 'a', qos: 1, packetId: 0 }), then: 'close' },
  { title: '[MQTT-3.3.2-2] 3.1.1: a PUBLISH topic with a wildcard closes the connection', version: 4, bytes: publishBytes({ topic: 'a/#' }), then: 'close' },
  { title: '[MQTT-1.5.3-2] 3.1.1: U+0000 in a PUBLISH topic closes the connection', version: 4, bytes: publishBytes({ topic: nul }), then: 'close' },
  { title: '[MQTT-3.8.3-4] 3.1.1: reserved bits (No Local) in a SUBSCRIBE closes the connection', version: 4, bytes: subscribeBytes({ v5: false, filters: [['a', 0x04]] }), then: 'close' },
  { title: '[MQTT-3.8.3-3] 3.1.1: SUBSCRIBE without a topic filter closes the connection', version: 4, bytes: subscribeBytes({ v5: false, filters: [] }), then: 'close' },
  { title: '[MQTT-2.3.1-1] 3.1.1: SUBSCRIBE with Packet Identifier 0 closes the connection', version: 4, bytes: subscribeBytes({ v5: false, packetId: 0, filters: [['a', 0]] }), then: 'close' },
  { title: '[MQTT-3.10.3-2] 3.1.1: UNSUBSCRIBE without a topic filter closes the connection', version: 4, bytes: unsubscribeBytes({ v5: false, filters: [] }), then: 'close' },
  { title: '[MQTT-4.8.0-1] 3.1.1: a PUBACK of Remaining Length 3 closes the connection (3.4.1)', version: 4, bytes: Buffer.from([0x40, 0x03, 0x00, 0x01, 0x00]), then: 'close' },
  { title: '[MQTT-4.8.0-1] 3.1.1: a PINGREQ with a body closes the connection (3.12.1)', version: 4, bytes: Buffer.from([0xc0, 0x01, 0x00]), then: 'close' },
  { title: '[MQTT-4.8.0-1] 3.1.1: an AUTH packet (reserved type 15) closes the connection (2.2.1)', version: 4, bytes: Buffer.from([0xf0, 0x00]), then: 'close' },
];

let running: RunningBroker;
let bystanders: Bystanders;
let clientNumber = 0;
const opened: RawClient[] = [];

beforeAll(async () => {
  running = await startBroker({
    clients: { maxPacketSizeBytes: MAX_PACKET, maxReceiveMaximum: RECEIVE_MAXIMUM },
    topicAliasMaximum: TOPIC_ALIAS_MAXIMUM,
    connectTimeoutMs: 60_000, // a close within the test's few seconds is the broker's answer, not this timeout
  });
  bystanders = await connectBystanders(running);
});

afterAll(async () => {
  for (const raw of opened) raw.destroy();
  await running.stop();
});

async function runCase(c: OracleCase): Promise<void> {
  const raw = await RawClient.open(running.port, c.version);
  opened.push(raw);
  if (c.first !== true) {
    const connack = await raw.connect({ clientId: `oracle-${++clientNumber}` });
    expect(c.version === 5 ? connack.reasonCode : connack.returnCode).toBe(0);
    await pingBarrier(raw);
  }
  raw.sendBytes(c.bytes);
  for (const cmd of c.before ?? []) expect((await raw.next())?.cmd).toBe(cmd);
  const then = c.then;
  if (then === 'close') await expectClosedSilently(raw);
  else if ('disconnect' in then) await expectDisconnect(raw, then.disconnect);
  else if ('connack' in then) {
    expect(await raw.next()).toMatchObject({ cmd: 'connack', reasonCode: then.connack, sessionPresent: false });
    await expectClosed(raw);
  } else if ('connackV3' in then) {
    expect(await raw.next()).toMatchObject({ cmd: 'connack', returnCode: then.connackV3, sessionPresent: false });
    await expectClosed(raw);
  } else {
    expect(await raw.next()).toMatchObject({ cmd: 'suback', granted: then.suback });
    await pingBarrier(raw); // still connected
    raw.send({ cmd: 'disconnect', reasonCode: 0 });
    await expectClosed(raw);
  }
  await expectBystandersServed(bystanders);
}

describe('protocol oracle: the server reaction to every kind of bad input', () => {
  describe('the first packet (CONNECT)', () => {
    for (const c of CONNECT_CASES) it(c.title, () => runCase(c));
  });
  describe('after an MQTT 5 CONNECT', () => {
    for (const c of V5_CASES) it(c.title, () => runCase(c));
  });
  describe('after an MQTT 3.1.1 CONNECT', () => {
    for (const c of V311_CASES) it(c.title, () => runCase(c));
  });

  it('a healthy client is served at the end, and every refused connection is gone', async () => {
    const client = await running.connect({ protocolVersion: 5, clientId: 'healthy-at-end' });
    await client.subscribeAsync('healthy/t', { qos: 1 });
    const got = new Promise<string>((resolve) => client.once('message', (_topic, payload) => resolve(payload.toString())));
    await client.publishAsync('healthy/t', 'alive', { qos: 1 });
    expect(await got).toBe('alive');
    await expectBystandersServed(bystanders);
    expect(running.broker.stats().clients.connected).toBe(3); // the two bystanders and this client
  });
});
