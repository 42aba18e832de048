import type { PublishPacket } from '../../protocol/packets.js';
import { userPropertyList } from '../../protocol/user-properties.js';
import type { MessagePropertiesRecord } from '../../storage/broker-store.js';
import { Message } from '../message.js';

/** The PUBLISH (or will) fields a message is made from. */
export interface PublishFields {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  readonly properties?: NonNullable<PublishPacket['properties']> & { messageExpiryInterval?: number };
}

/**
 * Builds a message: forwarded properties kept unchanged [MQTT-3.3.2-15..20], expiry turned
 * into an instant and capped by `maxMessageExpirySeconds`.
 */
export function createMessage(fields: PublishFields, senderId: string, maxExpirySeconds: number | undefined): Message {
  const p = fields.properties;
  let expiresAt: number | undefined;
  const requested = p?.messageExpiryInterval;
  const seconds = requested === undefined ? maxExpirySeconds : Math.min(requested, maxExpirySeconds ?? requested);
  if (seconds !== undefined) expiresAt = Date.now() + seconds * 1000;
  let properties: MessagePropertiesRecord | undefined;
  if (p !== undefined) {
    const forwarded: MessagePropertiesRecord = {};
    if (p.payloadFormatIndicator !== undefined) forwarded.payloadFormatIndicator = p.payloadFormatIndicator;
    if (p.contentType !== undefined) forwarded.contentType = p.contentType;
    if (p.responseTopic !== undefined) forwarded.responseTopic = p.responseTopic;
    if (p.correlationData !== undefined) forwarded.correlationData = p.correlationData;
    const userProperties = userPropertyList(p);
    if (userProperties !== undefined) forwarded.userProperties = userProperties;
    if (Object.keys(forwarded).length > 0) properties = forwarded;
  }
  return new Message({
    topic: fields.topic,
    payload: fields.payload,
    qos: fields.qos,
    retain: fields.retain,
    senderId,
    ...(expiresAt !== undefined ? { expiresAt, expirySet: requested !== undefined } : {}),
    ...(properties !== undefined ? { properties } : {}),
  });
}
