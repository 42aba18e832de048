import type { IConnectPacket } from 'mqtt-packet';
import { afterEach } from 'vitest';
import type { CreateBrokerOptions } from '../../src/broker/broker.js';
import { rawConnect } from './pubsub.js';
import type { RawClient } from './raw-client.js';
import { RawClients } from './session-helpers.js';
import { startBroker, type RunningBroker } from './start-broker.js';

/** One broker per test plus the raw clients opened against it, all closed after the test. */
export interface RawBrokerFixture {
  /** Starts a broker (`startBroker(options)`); the latest one started is stopped after the test. */
  start(options?: CreateBrokerOptions): Promise<RunningBroker>;
  /** The broker the test started; throws when none was. */
  current(): RunningBroker;
  /** Opens a raw client (no CONNECT sent) on the current broker, from `localAddress` when given (e.g. 127.0.0.2). */
  open(version?: 4 | 5, localAddress?: string): Promise<RawClient>;
  /** Opens a raw client on the current broker and completes CONNECT (`rawConnect` with `fields`). */
  connect(version: 4 | 5, fields?: Partial<IConnectPacket>): Promise<RawClient>;
  /** How many raw clients the test opened so far. */
  opened(): number;
}

/**
 * Registers (in the calling file or describe block) an afterEach that destroys every raw client the
 * test opened, then stops the broker it started. The returned functions may be destructured.
 */
export function useRawBroker(): RawBrokerFixture {
  let running: RunningBroker | undefined;
  const raws = new RawClients();
  afterEach(async () => {
    raws.destroyAll();
    await running?.stop();
    running = undefined;
  });
  const current = (): RunningBroker => {
    if (running === undefined) throw new Error('useRawBroker: no broker started in this test');
    return running;
  };
  return {
    start: async (options = {}) => (running = await startBroker(options)),
    current,
    open: (version = 5, localAddress?: string) => raws.open(current().port, version, localAddress),
    connect: async (version, fields = {}) => raws.track(await rawConnect(current().port, version, fields)),
    opened: () => raws.size,
  };
}
