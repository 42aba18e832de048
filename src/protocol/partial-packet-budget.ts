/**
 * The broker-wide bound on bytes held for packets that have started but not yet arrived whole:
 * every {@link PacketDecoder} charges its pending bytes here, so many slow or
 * stalled senders together cannot pin more than `maxBytes` of memory.
 */
export class PartialPacketBudget {
  /** Bytes currently held across all decoders. */
  #used = 0;
  /** The bound; changeable live (bytes already held stay). */
  maxBytes: number;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Bytes held now. */
  get usedBytes(): number {
    return this.#used;
  }

  /** Takes `bytes` if they fit under the bound; false (nothing taken) when they do not. */
  tryTake(bytes: number): boolean {
    if (this.#used + bytes > this.maxBytes) return false;
    this.#used += bytes;
    return true;
  }

  /** Gives back `bytes` taken earlier. */
  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}
