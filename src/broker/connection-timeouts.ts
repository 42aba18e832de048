/**
 * The deadlines of one connection, checked by the broker's timeout sweep (no timer per
 * connection): the CONNECT within the connect timeout, a started packet within the partial-packet
 * timeout, the credentials' expiry, and keep alive.
 */
import type { PacketDecoder } from '../protocol/decoder.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import { warnAbuse } from './abuse-log.js';
import type { ConnectionContext } from './connection-context.js';
import type { ConnectionInfo } from './hooks.js';

/** What the check reads of a connection, and how it ends one. */
export interface TimedConnection {
  readonly core: Pick<ConnectionContext, 'options' | 'limits' | 'logger' | 'counters'>;
  readonly info: ConnectionInfo;
  readonly clientId: string;
  readonly state: 'awaiting-connect' | 'connected' | 'closed';
  readonly decoder: Pick<PacketDecoder, 'partialSince' | 'partialBytes'>;
  /** Whether the broker itself does not read (flow control, a held connection). */
  readonly readingHeld: boolean;
  /** When the credentials expire, ms since the epoch. */
  readonly credentials: { readonly expiresAt: number | undefined };
  disconnect(reasonCode: number, reasonString?: string): void;
  close(): void;
}

/** When a connection started and last heard from its client, and its keep alive. */
export class ConnectionTimeouts {
  /** When the connection was attached: the CONNECT must be complete within the connect timeout of this. */
  readonly #attachedAt = Date.now();
  /** When bytes last arrived (creation time until then). */
  #lastActivity = this.#attachedAt;
  /** Keep alive in seconds after CONNECT (server keep alive applied); 0 = off. */
  #keepAliveSeconds = 0;

  /** Bytes arrived now. */
  noteActivity(now: number): void {
    this.#lastActivity = now;
  }

  /** Sets the keep alive the CONNECT negotiated, in seconds (0: none). */
  setKeepAlive(seconds: number): void {
    this.#keepAliveSeconds = seconds;
  }

  /**
   * Closes `connection` when it sent no CONNECT in time, did not complete a started packet in
   * time, its credentials expired, or it sent nothing for 1.5 times its keep alive [MQTT-3.1.2-22].
   */
  check(connection: TimedConnection, now: number): void {
    const core = connection.core;
    if (connection.state === 'awaiting-connect') {
      // A CONNECT must be complete in bounded time from the start, however slowly its bytes trickle in (slowloris).
      if (now - this.#attachedAt >= core.options.connectTimeoutMs) connection.close();
      return;
    }
    if (connection.state !== 'connected') return;
    // A started packet must arrive whole in bounded time, keep-alive 0 or not: its bytes are held until then.
    // While the broker itself does not read (flow control, a held connection) the clock is not the client's fault.
    const partialSince = connection.readingHeld ? undefined : connection.decoder.partialSince;
    const partialTimeoutMs = core.limits.partialPacketTimeoutSeconds * 1000;
    if (partialSince !== undefined && now - partialSince >= partialTimeoutMs) {
      const held = connection.decoder.partialBytes;
      warnAbuse(core.logger, 'partial-packet-timeout', { remoteAddress: connection.info.remoteAddress, clientId: connection.clientId, heldBytes: held }, 'connection closed: packet not completed in time');
      core.counters.partialPacketTimeouts++;
      // 0x97: an implementation-imposed limit was exceeded (the packet is neither malformed nor a keep-alive matter)
      connection.disconnect(ReasonCode.QuotaExceeded, `a packet was not completed within ${core.limits.partialPacketTimeoutSeconds} s (${held} bytes received)`);
      return;
    }
    const expiresAt = connection.credentials.expiresAt;
    if (expiresAt !== undefined && now >= expiresAt) {
      const at = new Date(expiresAt).toISOString();
      core.logger.info({ clientId: connection.clientId, expiredAt: at }, 'client disconnected: its credentials expired');
      connection.disconnect(ReasonCode.NotAuthorized, `the credentials expired at ${at}; re-authenticate (AUTH 0x19) before expiry to stay connected`);
      return;
    }
    if (this.#keepAliveSeconds > 0 && now - this.#lastActivity >= this.#keepAliveSeconds * 1500) {
      connection.disconnect(ReasonCode.KeepAliveTimeout);
    }
  }
}
