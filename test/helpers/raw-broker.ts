import type { IConnectPacket } from 'mqtt-packet';
import { afterEach } from 'vitest';
import type { CreateBrokerOptions } from '../../src/broker/broker.js';
import { rawConnect } from './pubsub.js';
import type { RawClient } from './raw-client.js';
import { RawClients } from './session-helpers.js';
import { useBroker, type RunningBroker } from './start-broker.js';

/** One broker per test plus the raw clients opened against it, all closed after the test. */
export interface RawBrokerFixture {
  /** Starts a broker (`startBroker(options)`); every one started is stopped after the test. */
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
 * test opened, then stops the brokers it started ({@link useBroker}). The returned functions may be
 * destructured.
 */
export function useRawBroker(): RawBrokerFixture {
  const brokers = useBroker();
  const raws = new RawClients();
  afterEach(() => raws.destroyAll());
  const current = (): RunningBroker => brokers.current();
  return {
    start: (options = {}) => brokers.start(options),
    current,
    open: (version = 5, localAddress?: string) => raws.open(current().port, version, localAddress),
    connect: async (version, fields = {}) => raws.track(await rawConnect(current().port, version, fields)),
    opened: () => raws.size,
  };
}
