/**
 * What a connection and its packet handlers use of the engine (the broker core implements it). A
 * connection depends on this interface, not on the core, so the core can create connections
 * without an import circle between them.
 */
import type { ClusterLink } from './cluster-link.js';
import type { PartialPacketBudget } from '../protocol/partial-packet-budget.js';
import type { Logger } from '../shared/log.js';
import type { AuthBackoff } from './auth-backoff.js';
import type { Counters } from './counters.js';
import type { FaultBoundary } from './fault-boundary.js';
import type { Message } from './message.js';
import type { ResolvedBrokerOptions, ResolvedConnectionLimits } from './broker-options.js';
import type { PublisherThrottle } from './publisher-throttle.js';
import type { RetainedMessages } from './retained.js';
import type { RouteResult } from './router.js';
import type { Session } from './session.js';
import type { SessionOwner, SessionRegistry, Will } from './session-registry.js';

/** A connection as the engine tracks it: swept for timeouts, closed at shutdown, detached from its session when it ends. */
export interface TrackedConnection extends SessionOwner {
  readonly clientId: string;
  readonly session: Session | undefined;
  /** The will to publish now that the connection ended: none after a normal DISCONNECT [MQTT-3.14.4-3]. */
  readonly willOnClose: Will | undefined;
  /** True when the CONNECT had a will (whether or not it is still to be published). */
  readonly connectedWithWill: boolean;
  /** Closes the connection when one of its deadlines passed (see connection-timeouts.ts). */
  checkTimeouts(now: number): void;
  /** Sends a v5 DISCONNECT with a reason (v3.1.1 has none) and closes. */
  disconnect(reasonCode: number, reasonString?: string): void;
}

/** The engine's shared state and services, as connections and handlers see them. */
export interface ConnectionContext {
  readonly options: ResolvedBrokerOptions;
  /** The resource limits in force (replaced live). */
  readonly limits: ResolvedConnectionLimits;
  readonly counters: Counters;
  readonly logger: Logger;
  /** The error boundary of every piece of work. */
  readonly faults: FaultBoundary;
  readonly throttle: PublisherThrottle;
  readonly authBackoff: AuthBackoff;
  /** Bytes of incomplete packets held by every connection's decoder. */
  readonly partialPackets: PartialPacketBudget;
  readonly registry: SessionRegistry;
  readonly retained: RetainedMessages;
  /** Cluster mode: the frontend's link to its cluster (sessions are claimed on CONNECT). */
  readonly cluster: ClusterLink | undefined;
  /** Routes an application message; never throws. */
  publish(message: Message): RouteResult;
  /** A background store write failed. */
  onStoreError(error: unknown): void;
  /** Called once by a connection when it closes: will, session detach. */
  connectionClosed(connection: TrackedConnection, wasConnected: boolean): void;
}
