import { createPublishTemplate, type PublishTemplate } from '../protocol/publish-encoder.js';
import type { MessageRecord, MessagePropertiesRecord } from '../storage/broker-store.js';
import type { RemoteSender } from './hooks.js';

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
  /** Why the template could not be built, once tried (see {@link encodingError}). */
  #encodingError: unknown;
  /** Kept in memory only, never written to the store (`$SYS` figures). */
  ephemeral = false;
  /** Written to the store (as a retained message). */
  stored = false;
  /** Complete QoS 0 PUBLISH bytes per protocol version, for deliveries with nothing per-subscriber. */
  plainQos0: [Buffer | undefined, Buffer | undefined] = [undefined, undefined];
  /**
   * Cluster mode: the publisher's identity and port authorization, when another frontend forwarded
   * it to an in-process service here (never stored; see {@link RemoteSender}).
   */
  remoteSender: RemoteSender | undefined = undefined;

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

  /** The topic and forwarded properties, encoded once; throws when they cannot be encoded (see {@link encodingError}). */
  get template(): PublishTemplate {
    const template = this.tryTemplate();
    if (template === undefined) throw this.#encodingError;
    return template;
  }

  /**
   * The template, or `undefined` when the message cannot be encoded (a property of the wrong type
   * or over its length, e.g. from a damaged store record); the failure is remembered, so a bad
   * message costs one attempt, not one per subscriber.
   */
  tryTemplate(): PublishTemplate | undefined {
    if (this.#template !== undefined) return this.#template;
    if (this.#encodingError !== undefined) return undefined;
    try {
      this.#template = createPublishTemplate(this.topic, this.payload, this.properties);
      return this.#template;
    } catch (error) {
      this.#encodingError = error ?? new Error('the message cannot be encoded');
      return undefined;
    }
  }

  /** Why the message cannot be encoded; `undefined` when it can (or was not tried yet). */
  get encodingError(): unknown {
    return this.#encodingError;
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
