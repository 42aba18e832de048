/**
 * One connection to one Redis node: commands are written pipelined, in batches, and each batch's
 * replies are matched in order. No offline queue and no silent retry: a batch sent on a connection
 * that fails (error, close, protocol error, a batch timeout) is rejected, with every batch pending on
 * it, and the connection is closed for good.
 */
import { connect, type Socket } from 'node:net';
import { OpsError } from '../../shared/errors.js';
import type { RedisCommand, RedisReply } from './cluster-commands.js';
import { DEFAULT_RESP_LIMITS, encodeCommands, RespParser, type RespLimits } from './resp.js';

/** How to reach and bound one node. */
export interface NodeConnectionOptions {
  host: string;
  port: number;
  /** Connecting fails after this many ms. */
  connectTimeoutMs: number;
  /** The RESP bounds of a reply (default {@link DEFAULT_RESP_LIMITS}). */
  limits?: RespLimits | undefined;
}

interface PendingBatch {
  readonly expected: number;
  readonly replies: RedisReply[];
  readonly resolve: (replies: RedisReply[]) => void;
  readonly reject: (error: OpsError) => void;
  readonly timer: NodeJS.Timeout;
}

/** `host:port` of a node, the key the cluster client files connections under. */
export function nodeAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** STO_BACKEND_UNAVAILABLE for `node`. */
export function backendUnavailable(node: string, reason: string, cause?: unknown): OpsError {
  return new OpsError('STO_BACKEND_UNAVAILABLE', { node, reason }, cause === undefined ? undefined : { cause });
}

/** A connection to one Redis node. Open it with {@link NodeConnection.open}. */
export class NodeConnection {
  /** `host:port`. */
  readonly address: string;
  private readonly pending: PendingBatch[] = [];
  private readonly parser: RespParser;
  private failure: OpsError | undefined;
  private readonly closeListeners: ((error: OpsError) => void)[] = [];

  private constructor(
    private readonly socket: Socket,
    host: string,
    port: number,
    limits: RespLimits,
  ) {
    this.address = nodeAddress(host, port);
    this.parser = new RespParser(limits);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 1000);
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('error', (error) => this.fail(backendUnavailable(this.address, error.message, error)));
    socket.on('close', () => this.fail(backendUnavailable(this.address, 'the connection closed')));
  }

  /** Connects to a node; rejects with STO_BACKEND_UNAVAILABLE when it cannot within the timeout. */
  static open(options: NodeConnectionOptions): Promise<NodeConnection> {
    const address = nodeAddress(options.host, options.port);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: options.host, port: options.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(backendUnavailable(address, `no connection within ${options.connectTimeoutMs} ms`));
      }, options.connectTimeoutMs);
      const failed = (error: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(backendUnavailable(address, error.message, error));
      };
      socket.once('error', failed);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', failed);
        resolve(new NodeConnection(socket, options.host, options.port, options.limits ?? DEFAULT_RESP_LIMITS));
      });
    });
  }

  /** False once the connection failed or was closed. */
  get usable(): boolean {
    return this.failure === undefined;
  }

  /** Batches written and not answered yet. */
  get pendingBatches(): number {
    return this.pending.length;
  }

  /** Calls `listener` once when the connection fails or closes (at once when it already has). */
  onClose(listener: (error: OpsError) => void): void {
    if (this.failure !== undefined) listener(this.failure);
    else this.closeListeners.push(listener);
  }

  /**
   * Writes `commands` as one pipeline; resolves with their replies in order (error replies in
   * place). Rejects with STO_BACKEND_UNAVAILABLE when the connection fails first, or when the replies
   * do not all arrive within `timeoutMs` (the connection is then closed: later replies could not be
   * trusted to match).
   */
  send(commands: readonly RedisCommand[], timeoutMs: number): Promise<RedisReply[]> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (commands.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(backendUnavailable(this.address, `no reply within ${timeoutMs} ms`)), timeoutMs);
      this.pending.push({ expected: commands.length, replies: [], resolve, reject, timer });
      this.socket.write(encodeCommands(commands));
    });
  }

  /** Closes the connection; pending batches are rejected. */
  close(): void {
    this.fail(backendUnavailable(this.address, 'the connection was closed by the client'));
  }

  private received(chunk: Buffer): void {
    const { replies, error } = this.parser.push(chunk);
    for (const reply of replies) {
      const batch = this.pending[0];
      if (batch === undefined) {
        this.fail(backendUnavailable(this.address, 'a reply to no command'));
        return;
      }
      batch.replies.push(reply);
      if (batch.replies.length === batch.expected) {
        this.pending.shift();
        clearTimeout(batch.timer);
        batch.resolve(batch.replies);
      }
    }
    if (error !== undefined) this.fail(backendUnavailable(this.address, `protocol error: ${error.message}`, error));
  }

  private fail(error: OpsError): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.socket.destroy();
    for (const batch of this.pending.splice(0)) {
      clearTimeout(batch.timer);
      batch.reject(error);
    }
    for (const listener of this.closeListeners.splice(0)) listener(error);
  }
}
