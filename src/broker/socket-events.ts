import type { Duplex } from 'node:stream';
import type { DisconnectCause } from './connection-log.js';

/** What a socket's events drive: bytes in, and the end of the connection. */
export interface SocketOwner {
  /** Bytes arrived on the socket. */
  receive(chunk: Buffer): void;
  /** Records why the connection ends, unless a cause was noted already. */
  noteCause(cause: DisconnectCause): void;
  close(): void;
}

const OWNER = Symbol('socket-owner');
type OwnedSocket = Duplex & { [OWNER]?: SocketOwner };

/**
 * Routes a socket's events to its connection with shared listeners (no closures per connection):
 * the socket points back to its owner. A socket that ends, closes or fails closes the connection.
 */
export function listenToSocket(socket: Duplex, owner: SocketOwner): void {
  (socket as OwnedSocket)[OWNER] = owner;
  socket.on('data', onSocketData);
  socket.on('error', onSocketError);
  socket.on('close', onSocketGone);
  socket.on('end', onSocketGone);
}

function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  this[OWNER]?.receive(chunk);
}

function onSocketGone(this: OwnedSocket): void {
  const owner = this[OWNER];
  if (owner === undefined) return;
  owner.noteCause({ by: 'network' });
  owner.close();
}

function onSocketError(this: OwnedSocket, error: Error): void {
  const owner = this[OWNER];
  if (owner === undefined) return;
  owner.noteCause({ by: 'network', error: (error as NodeJS.ErrnoException).code ?? error.message });
  owner.close();
}
