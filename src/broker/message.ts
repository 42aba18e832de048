import { createPublishTemplate, type PublishTemplate } from '../protocol/publish-encoder.js';
import type { MessageRecord, MessagePropertiesRecord } from '../storage/broker-store.js';

/**
 * An application message inside the engine: the stored record plus the encoding shared by
 * every delivery (built on first use, then reused for each subscriber).
 */
export class Message implements MessageRecord {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  readonly expiresAt?: number;
  readonly expirySet?: boolean;
  readonly properties?: MessagePropertiesRecord;
  readonly senderId?: string;
  #template: PublishTemplate | undefined;
  /** Kept in memory only, never written to the store (`$SYS` figures). */
  ephemeral = false;
  /** Written to the store (as a retained message). */
  stored = false;
  /** Complete QoS 0 PUBLISH bytes per protocol version, for deliveries with nothing per-subscriber. */
  plainQos0: [Buffer | undefined, Buffer | undefined] = [undefined, undefined];

  constructor(record: MessageRecord) {
    this.topic = record.topic;
    this.payload = record.payload;
    this.qos = record.qos;
    this.retain = record.retain;
    if (record.expiresAt !== undefined) this.expiresAt = record.expiresAt;
    if (record.expirySet !== undefined) this.expirySet = record.expirySet;
    if (record.properties !== undefined) this.properties = record.properties;
    if (record.senderId !== undefined) this.senderId = record.senderId;
  }

  /** The topic and forwarded properties, encoded once. */
  get template(): PublishTemplate {
    this.#template ??= createPublishTemplate(this.topic, this.payload, this.properties);
    return this.#template;
  }

  /** Whether the message has expired at `now` [MQTT-3.3.2-5]. */
  isExpired(now: number): boolean {
    return this.expiresAt !== undefined && this.expiresAt <= now;
  }

  /** The plain record (for storage). */
  toRecord(): MessageRecord {
    return {
      topic: this.topic,
      payload: this.payload,
      qos: this.qos,
      retain: this.retain,
      ...(this.expiresAt !== undefined ? { expiresAt: this.expiresAt } : {}),
      ...(this.expirySet !== undefined ? { expirySet: this.expirySet } : {}),
      ...(this.properties !== undefined ? { properties: this.properties } : {}),
      ...(this.senderId !== undefined ? { senderId: this.senderId } : {}),
    };
  }

  /** A copy with another retain flag (retained messages are stored with retain set). */
  withRetain(retain: boolean): Message {
    return new Message({ ...this.toRecord(), retain });
  }
}
