import mqttPacket, { type IConnectPacket, type Packet } from 'mqtt-packet';
import { pingBarrier } from './bad-input.js';
import { RawClient } from './raw-client.js';

/** Rejects when a promise does not settle within `ms` (bounded waits on real-time events). */
export { within } from './bad-input.js';

/**
 * Resolves once `condition()` holds, checking every 20 ms, for broker-internal transitions that
 * emit no packet (session expiry); rejects after `ms`.
 */
export async function until(condition: () => boolean, ms: number, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Tracks raw clients so a test's afterEach can destroy them all. */
export class RawClients {
  readonly #open: RawClient[] = [];

  /** Opens a raw client on `port`. */
  async open(port: number, version: 4 | 5 = 5, localAddress?: string): Promise<RawClient> {
    return this.track(await RawClient.open(port, version, localAddress));
  }

  /** Adds a client opened elsewhere, so `destroyAll()` destroys it too; returns it. */
  track(client: RawClient): RawClient {
    this.#open.push(client);
    return client;
  }

  /** How many clients were opened (or tracked) since the last `destroyAll()`. */
  get size(): number {
    return this.#open.length;
  }

  /** Destroys every client opened. */
  destroyAll(): void {
    for (const client of this.#open.splice(0)) client.destroy();
  }
}

/** Round-trip barrier: PINGREQ, then returns every packet that arrived before the PINGRESP. */
export const drainUntilPong: (client: RawClient, timeoutMs?: number) => Promise<Packet[]> = pingBarrier;

/**
 * CONNECT bytes with an empty client id and Clean Start/Clean Session 0, which mqtt-packet
 * refuses to generate: encoded with clean=1, then the flag bit is cleared.
 */
export function emptyIdPersistentConnect(version: 4 | 5, properties?: IConnectPacket['properties']): Buffer {
  const bytes = mqttPacket.generate(
    { cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId: '', ...(properties !== undefined ? { properties } : {}) },
    { protocolVersion: version },
  );
  let pos = 1;
  while (((bytes[pos] as number) & 0x80) !== 0) pos++;
  const flags = pos + 1 + 6 + 1; // after remaining length: protocol name (6), level (1)
  bytes[flags] = (bytes[flags] as number) & ~0x02;
  return bytes;
}
