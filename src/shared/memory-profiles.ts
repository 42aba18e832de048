/**
 * The memory profiles of the AIO Broker resource and what each sets in this broker. Shared by the
 * engine (broker/broker-options.ts) and by the configuration that shows the defaults (`ops broker limits show`).
 */

/** Memory profiles of the AIO Broker resource. */
export type MemoryProfile = 'Tiny' | 'Low' | 'Medium' | 'High';

/** What a memory profile sets: the maximum packet size, the budget for queued messages, and one session's share. */
export interface MemoryProfileLimits {
  /** Maximum MQTT packet size in bytes (AIO "max message"). */
  readonly maxPacketSizeBytes: number;
  /** Total bytes of queued (not yet delivered) message payloads the broker keeps in memory: the broker-wide backstop. */
  readonly queuedBytesBudget: number;
  /**
   * Bytes one session may have waiting (payload plus per-message overhead; in memory, the disk buffer
   * and the store alike): a sixteenth of the budget, so that it takes sixteen stuck sessions to reach
   * the broker-wide backstop. One message always fits an empty queue, whatever its size.
   */
  readonly sessionQueueBytes: number;
}

const MB = 1024 * 1024;

/** One session's default share of a broker-wide bound: 1/16 of the queue budget, and of the store's `persistence.maxSize` for persisted queues. */
export const SESSION_SHARE = 16;

/** Limits per memory profile: packet sizes 4/16/64/256 MB as AIO; queue budgets sized from AIO's buffers; a session gets 1/16 of its budget. */
export const MEMORY_PROFILES: Readonly<Record<MemoryProfile, MemoryProfileLimits>> = {
  Tiny: { maxPacketSizeBytes: 4 * MB, queuedBytesBudget: 12 * MB, sessionQueueBytes: (12 * MB) / SESSION_SHARE },
  Low: { maxPacketSizeBytes: 16 * MB, queuedBytesBudget: 48 * MB, sessionQueueBytes: (48 * MB) / SESSION_SHARE },
  Medium: { maxPacketSizeBytes: 64 * MB, queuedBytesBudget: 432 * MB, sessionQueueBytes: (432 * MB) / SESSION_SHARE },
  High: { maxPacketSizeBytes: 256 * MB, queuedBytesBudget: 1536 * MB, sessionQueueBytes: (1536 * MB) / SESSION_SHARE },
};
