import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { within } from '../helpers/bad-input.js';
import { ChildBrokers, type ChildBroker } from '../helpers/child-broker.js';

/**
 * The broker under attack, in a child process (test/helpers/child-broker.ts) so that an error
 * escaping to `uncaughtException` or `unhandledRejection` is observable: the child installs no
 * handler for them, so Node ends it, and {@link assertAlive} fails with its stderr.
 */
export class ChildTarget {
  readonly #children: ChildBrokers;
  readonly #clients: MqttClient[] = [];
  readonly #dir: string;
  readonly broker: ChildBroker;

  private constructor(dir: string, children: ChildBrokers, broker: ChildBroker) {
    this.#dir = dir;
    this.#children = children;
    this.broker = broker;
  }

  /** Starts a child broker on a fresh level store, `$SYS` every second (figures), the state store, error lines on stderr. */
  static async start(): Promise<ChildTarget> {
    const dir = await mkdtemp(join(tmpdir(), 'ops-adversarial-'));
    const children = new ChildBrokers();
    try {
      const broker = await children.start(dir, undefined, 15_000, { OPS_TEST_SYS_INTERVAL_S: '1', OPS_TEST_STATE_STORE: '1', OPS_TEST_LOG_ERRORS: '1' });
      return new ChildTarget(dir, children, broker);
    } catch (error) {
      await children.killAll();
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  get port(): number {
    return this.broker.port;
  }

  /** Fails (with what the process wrote to stderr) once the broker process has ended. */
  assertAlive(): void {
    if (this.broker.alive()) return;
    const { exitCode, signalCode } = this.broker.child;
    throw new Error(`the broker process ended (${exitCode ?? signalCode}):\n${this.broker.stderr()}`);
  }

  /** `promise`, or a rejection saying the process ended (with its stderr) if that happens first. */
  whileAlive<T>(promise: Promise<T>): Promise<T> {
    const ended = this.broker.exited.then((): never => {
      throw new Error(`the broker process ended (${this.broker.child.exitCode ?? this.broker.child.signalCode}):\n${this.broker.stderr()}`);
    });
    ended.catch(() => undefined); // only a rejection if the race is still being waited on
    return Promise.race([promise, ended]);
  }

  /** Connects a real `mqtt` client (no reconnect); ended by {@link stop}. */
  async connect(options: IClientOptions = {}): Promise<MqttClient> {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${this.port}`, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    this.#clients.push(client);
    return client;
  }

  /** The current value of a `$SYS` figure (published retained every second). */
  async sysFigure(topic: string): Promise<number> {
    const client = await this.connect({ protocolVersion: 5 });
    try {
      const got = new Promise<Buffer>((resolve) => client.once('message', (_t, payload) => resolve(payload)));
      await client.subscribeAsync(topic, { qos: 0 });
      return Number((await within(got, 5000, `${topic}`)).toString());
    } finally {
      await client.endAsync(true).catch(() => undefined);
    }
  }

  /** Ends every client, kills the process (it must still be alive: the caller asserts that first) and removes its store. */
  async stop(): Promise<void> {
    await Promise.all(this.#clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
    await this.#children.killAll();
    await rm(this.#dir, { recursive: true, force: true });
  }
}
