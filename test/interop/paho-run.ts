/**
 * One run of a Paho interoperability case port against a {@link PahoTarget}: the case's clients
 * (aclient, bclient and others, as Paho's suites name them), what their callbacks recorded, and
 * the case's topics under a prefix unique to the target and the case, so that runs never meet.
 * The cases themselves are in paho-v311-cases.ts and paho-v5-cases.ts.
 */
import mqtt, { type IClientOptions, type IClientPublishOptions, type IClientSubscribeOptions, type IConnackPacket, type IDisconnectPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import type { ISubackPacket } from 'mqtt-packet';
import { it } from 'vitest';
import { RawClient } from '../helpers/raw-client.js';
import { NOSUBSCRIBE, type PahoTarget } from './paho-target.js';

/** Paho's topic names (`topics`) and filters (`wildtopics`), before the run's prefix. */
const TOPICS = ['TopicA', 'TopicA/B', 'Topic/C', 'TopicA/C', '/TopicA'] as const;
const WILDTOPICS = ['TopicA/+', '+/C', '#', '/#', '/+', '+/+', 'TopicA/#'] as const;

/** Payload of the markers {@link PahoClient.roundTrip} sends; never recorded as a message. */
const MARKER = 'paho-port-marker';

/** A message as Paho's `publishArrived` callback records it. */
export interface Arrived {
  readonly topic: string;
  readonly payload: string;
  readonly qos: number;
  readonly retain: boolean;
  readonly properties: IPublishPacket['properties'];
}

/** What a client's callbacks recorded (Paho's `Callbacks`), kept across its connections. */
export class Callbacks {
  messages: Arrived[] = [];
  disconnects: IDisconnectPacket[] = [];
  /** Markers received (see {@link PahoClient.roundTrip}). */
  markers = 0;

  clear(): void {
    this.messages = [];
    this.disconnects = [];
  }
}

function isSuback(packet: unknown): packet is ISubackPacket {
  return typeof packet === 'object' && packet !== null && 'cmd' in packet && packet.cmd === 'suback';
}

/** Waits for `condition`, polling every 5 ms; fails with `what` after `timeoutMs`. */
export async function until(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Waits `ms` of real time: only where a case tests a timer (keep alive, expiry, will delay). */
export function elapse(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One of a case's clients: a client id, its callbacks, and its current connection. */
export class PahoClient {
  readonly callbacks = new Callbacks();
  readonly #run: PahoRun;
  readonly #index: number;
  readonly clientId: string;
  #connections = 0;
  #current: MqttClient | undefined;

  constructor(run: PahoRun, index: number, clientId: string) {
    this.#run = run;
    this.#index = index;
    this.clientId = clientId;
  }

  /** The port of this client's next connection (the target decides; a round robin moves it). */
  nextPort(): number {
    return this.#run.target.port(this.#index, this.#connections++);
  }

  /** The current `mqtt` client (throws when not connected yet). */
  get client(): MqttClient {
    if (this.#current === undefined) throw new Error(`${this.clientId} is not connected`);
    return this.#current;
  }

  /** Connects with the real `mqtt` client (clean by default, as Paho's); resolves with the CONNACK, rejects when refused or closed. */
  async connect(options: IClientOptions = {}): Promise<IConnackPacket> {
    const client = mqtt.connect({
      host: '127.0.0.1',
      port: this.nextPort(),
      protocolVersion: this.#run.version,
      clientId: this.clientId,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      resubscribe: false,
      ...options,
    });
    this.#run.track(client);
    this.#current = client;
    client.on('message', (topic, payload, packet) => {
      if (payload.toString() === MARKER) this.callbacks.markers++;
      else this.callbacks.messages.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain, properties: packet.properties });
    });
    client.on('disconnect', (packet) => this.callbacks.disconnects.push(packet));
    return new Promise((resolve, reject) => {
      client.once('connect', (connack) => {
        client.on('error', () => undefined);
        resolve(connack);
      });
      client.once('error', reject);
      client.once('close', () => reject(new Error(`${this.clientId}: connection closed before CONNACK`)));
    });
  }

  /** Opens a byte-level connection as this client's next connection (for exact packets). */
  async raw(): Promise<RawClient> {
    const raw = await RawClient.open(this.nextPort(), this.#run.version);
    this.#run.trackRaw(raw);
    return raw;
  }

  /**
   * Subscribes (one SUBSCRIBE for every filter given), then waits until every frontend has it;
   * resolves with the SUBACK's return (reason) codes, refusals included.
   */
  async subscribe(filters: string | Record<string, IClientSubscribeOptions>, options: IClientSubscribeOptions = { qos: 2 }): Promise<number[]> {
    let codes: number[];
    try {
      const granted = typeof filters === 'string' ? await this.client.subscribeAsync(filters, options) : await this.client.subscribeAsync(filters);
      codes = granted.map((g) => g.qos);
    } catch (error) {
      // mqtt rejects a SUBACK with a failure code; Paho's client hands the codes to its callback
      const packet: unknown = error instanceof Error && 'packet' in error ? error.packet : undefined;
      if (!isSuback(packet)) throw error;
      codes = packet.granted.map((g) => (typeof g === 'number' ? g : -1));
    }
    return codes;
  }

  /** Unsubscribes. */
  async unsubscribe(filter: string): Promise<void> {
    await this.client.unsubscribeAsync(filter);
  }

  /** Publishes; resolves once written (QoS 0) or acknowledged (QoS 1 and 2). */
  async publish(topic: string, payload: string | Buffer, qos: 0 | 1 | 2 = 0, options: Omit<IClientPublishOptions, 'qos'> = {}): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos, ...options });
  }

  /** A clean DISCONNECT (with `properties`, v5), waiting for the socket to close. */
  async disconnect(properties?: { sessionExpiryInterval?: number }): Promise<void> {
    const client = this.#current;
    if (client === undefined || client.disconnected) return;
    await client.endAsync(false, properties === undefined ? {} : { properties });
  }

  /** Closes the socket without DISCONNECT (Paho's `terminate`). */
  terminate(): void {
    this.#current?.end(true);
  }

  /**
   * Publishes a marker on `topic` at QoS 1 from this client and resolves once `receiver` got it
   * (it must be subscribed to `topic`): whatever was routed to `receiver` before has arrived.
   * Stands in for Paho's sleeps before a check that nothing (more) arrived.
   */
  async roundTrip(topic: string, receiver: PahoClient = this): Promise<void> {
    const before = receiver.callbacks.markers;
    await this.publish(topic, MARKER, 1);
    await until(`the marker on ${topic}`, () => receiver.callbacks.markers > before);
  }
}

/** One run of a case against a target. */
export class PahoRun {
  readonly target: PahoTarget;
  readonly version: 4 | 5;
  /** Starts every topic of this run: `<target tag><version>-<case number>/`. */
  readonly prefix: string;
  /** Paho's `topics`, under the prefix. */
  readonly topics: readonly string[];
  /** Paho's `wildtopics`, under the prefix. */
  readonly wildtopics: readonly string[];
  /** Paho's `nosubscribe_topics[0]`, under the prefix: the target refuses it. */
  readonly nosubscribe: string;
  /** Paho's aclient ("myclientid") and bclient ("myclientid2"). */
  readonly a: PahoClient;
  readonly b: PahoClient;
  readonly #clients: MqttClient[] = [];
  readonly #raws: RawClient[] = [];

  constructor(target: PahoTarget, version: 4 | 5, caseNumber: number) {
    this.target = target;
    this.version = version;
    this.prefix = `${target.tag}${version}-${caseNumber}/`;
    this.topics = TOPICS.map((t) => this.prefix + t);
    this.wildtopics = WILDTOPICS.map((t) => this.prefix + t);
    this.nosubscribe = this.prefix + NOSUBSCRIBE;
    this.a = new PahoClient(this, 0, this.#id('myclientid'));
    this.b = new PahoClient(this, 1, this.#id('myclientid2'));
  }

  #id(name: string): string {
    return `${this.prefix.slice(0, -1)}-${name}`;
  }

  /** Another client (Paho's client0, "clean retained", a test client): `name` '' is the zero-length client id. */
  other(name: string): PahoClient {
    return new PahoClient(this, 2, name === '' ? '' : this.#id(name));
  }

  /** Keeps `client` to be ended by {@link close}. */
  track(client: MqttClient): void {
    this.#clients.push(client);
  }

  /** Keeps `raw` to be closed by {@link close}. */
  trackRaw(raw: RawClient): void {
    this.#raws.push(raw);
  }

  /** Ends every connection of the run. */
  async close(): Promise<void> {
    for (const raw of this.#raws) raw.destroy();
    await Promise.all(this.#clients.map((c) => c.endAsync(true).catch(() => undefined)));
  }
}

/** A ported case: Paho's name, and its steps and checks. */
export interface PahoCase {
  readonly name: string;
  readonly run: (run: PahoRun) => Promise<void>;
  /** Why the case is not run (an optional feature this broker does not have); Paho's own run reports it failed. */
  readonly skip?: string;
  /** The case mostly waits for a server timer (keep alive, expiry, will delay): run at once with the other such cases. */
  readonly waits?: boolean;
}

/**
 * Registers every case as a test `paho <name>` against the target `target()` gives once the
 * file's beforeAll ran: first the cases that wait for timers, concurrently (their runs share no
 * client id or topic), then the others one at a time, in Paho's order.
 */
export function definePahoCases(cases: readonly PahoCase[], version: 4 | 5, target: () => PahoTarget): void {
  const numbered = cases.map((c, index) => ({ c, index }));
  for (const waits of [true, false]) {
    for (const { c, index } of numbered.filter(({ c }) => (c.waits === true) === waits)) {
      const test = c.skip !== undefined ? it.skip : waits ? it.concurrent : it;
      test(`paho ${c.name}`, async () => {
        const run = new PahoRun(target(), version, index);
        try {
          await c.run(run);
        } finally {
          await run.close();
        }
      });
    }
  }
}
