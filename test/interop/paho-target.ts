/**
 * Where the Paho interoperability case ports (paho-v311-cases.ts, paho-v5-cases.ts) connect their
 * clients: the standalone broker, one frontend of an in-process cluster, or every frontend in turn.
 */
import type { CreateBrokerOptions } from '../../src/broker/broker.js';
import type { InProcessCluster } from '../helpers/cluster-in-process.js';

/** A server under test, as the cases see it. */
export interface PahoTarget {
  /** Shown in test titles. */
  readonly name: string;
  /** Short, unique per target: starts every client id and topic of its runs (targets never meet). */
  readonly tag: string;
  /** The port of connection number `connection` (0, 1, ...) of the case's client `client` (0 aclient, 1 bclient, 2 any other). */
  port(client: number, connection: number): number;
}

/** The filter Paho's suites expect the server to refuse (`nosubscribe_topics`), under a run's prefix. */
export const NOSUBSCRIBE = 'test/nosubscribe';

/**
 * What the Paho suites assume of the server under test, as their own test broker is set up: a
 * subscription to `.../test/nosubscribe` is refused (test_subscribe_failure), and the server keep
 * alive is at most 60 s (test_server_keep_alive expects Server Keep Alive 60 for 120). Receive
 * Maximum 1000 instead of 65535: test_flow_control2 reads it from the CONNACK, as Paho's does, and
 * sends one QoS 2 PUBLISH more (1,001 instead of 65,536: 6 s less per target).
 */
export const PAHO_ENGINE: Pick<CreateBrokerOptions, 'hooks' | 'clients'> = {
  hooks: { authorizeSubscribe: (_client, filter) => !filter.endsWith(NOSUBSCRIBE) },
  clients: { maxKeepAliveSeconds: 60, maxReceiveMaximum: 1000 },
};

/** The standalone broker listening on `port`. */
export function standaloneTarget(port: number): PahoTarget {
  return { name: 'standalone broker', tag: 'sa', port: () => port };
}

/** Every client on the first frontend of `cluster` (what a client of a load balancer pinned to one frontend sees). */
export function oneFrontendTarget(cluster: InProcessCluster): PahoTarget {
  const port = cluster.frontends[0]!.port;
  return { name: 'one frontend of a 3-frontend cluster', tag: 'f1', port: () => port };
}

/**
 * Clients spread over the frontends: connection n of client k goes to frontend (k + n) mod N, so
 * aclient and bclient are on different frontends and every reconnection moves the session. The
 * cases need no waits of their own: a SUBACK is sent once every frontend knows the subscription,
 * and a SUBSCRIBE replays retained messages once this frontend has every earlier retained change.
 */
export function roundRobinTarget(cluster: InProcessCluster): PahoTarget {
  const frontends = cluster.frontends;
  return {
    name: 'every frontend of a 3-frontend cluster, round robin',
    tag: 'rr',
    port: (client, connection) => frontends[(client + connection) % frontends.length]!.port,
  };
}
