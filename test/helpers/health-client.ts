import { RawClient } from './raw-client.js';

/**
 * Measures how long the broker's event loop stalls: a client that publishes QoS 0 to its own
 * subscription and waits for the message back, again and again (a few ms apart), keeping the
 * longest round trip. A broker busy with one client's work for N ms shows up as a round trip of
 * at least N ms here.
 */
export class HealthClient {
  readonly #raw: RawClient;
  readonly #topic: string;
  #running = false;
  #loop: Promise<void> = Promise.resolve();
  #max = 0;
  #count = 0;
  /** Why the round trips stopped early (the connection closed), reported by {@link stop}. */
  #failure: Error | undefined;

  private constructor(raw: RawClient, topic: string) {
    this.#raw = raw;
    this.#topic = topic;
  }

  /** Connects (v5) and subscribes to its own topic. */
  static async open(port: number, clientId = 'health'): Promise<HealthClient> {
    const raw = await RawClient.open(port, 5);
    await raw.connect({ clientId });
    const topic = `health/${clientId}`;
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }] });
    const suback = await raw.next();
    if (suback?.cmd !== 'suback') throw new Error(`health client: expected SUBACK, got ${suback?.cmd ?? 'close'}`);
    return new HealthClient(raw, topic);
  }

  /** Starts the round trips (every `gapMs` after the previous answer); resets the figures. */
  start(gapMs = 2): void {
    this.#max = 0;
    this.#count = 0;
    this.#failure = undefined;
    this.#running = true;
    this.#loop = this.#run(gapMs);
  }

  /**
   * Stops after the round trip in progress; resolves with the longest round trip (ms) and how many
   * were made, or rejects when the health client lost its connection.
   */
  async stop(): Promise<{ maxMs: number; roundTrips: number }> {
    this.#running = false;
    await this.#loop;
    if (this.#failure !== undefined) throw this.#failure;
    return { maxMs: this.#max, roundTrips: this.#count };
  }

  /** Closes the connection. */
  close(): void {
    this.#running = false;
    this.#raw.destroy();
  }

  async #run(gapMs: number): Promise<void> {
    while (this.#running) {
      const started = performance.now();
      this.#raw.send({ cmd: 'publish', topic: this.#topic, payload: Buffer.from('ping'), qos: 0, retain: false, dup: false });
      const back = await this.#raw.next(60_000).catch((error: unknown) => error);
      if (!this.#running && this.#raw.isClosed) return; // closed by the test
      if (back === undefined || back instanceof Error || (back as { cmd?: string }).cmd !== 'publish') {
        this.#failure = new Error(`health client: expected its PUBLISH back, got ${back instanceof Error ? back.message : ((back as { cmd?: string } | undefined)?.cmd ?? 'close')}`);
        this.#running = false;
        return;
      }
      this.#max = Math.max(this.#max, performance.now() - started);
      this.#count++;
      await new Promise((resolve) => setTimeout(resolve, gapMs)); // pacing between pings, not synchronisation
    }
  }
}
