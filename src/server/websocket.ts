/**
 * MQTT over WebSockets (MQTT 5.0 §6) with the `ws` package: each accepted socket (plain or TLS) is
 * handed to an HTTP parser for the upgrade, `ws` does the handshake and framing (fragments,
 * masking, control frames, close handshake, size limit), and the binary message stream is served
 * by the broker like any socket (`broker.attach`). Subprotocol `mqtt` is selected when offered.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer } from 'ws';

/** Largest WebSocket message accepted: the broker's largest packet (its own limit applies on top). */
const MAX_PAYLOAD_BYTES = 268_435_456;
/** Time a client has to complete the HTTP upgrade. */
const UPGRADE_TIMEOUT_MS = 10_000;

const sockets = new WebSocketServer({
  noServer: true,
  maxPayload: MAX_PAYLOAD_BYTES,
  handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
});

/** Serves one socket: HTTP upgrade to WebSocket, then `serve` gets the binary byte stream. */
export function acceptWebSocket(socket: Socket, serve: (stream: Duplex) => void): void {
  const http = createHttpServer((_request: IncomingMessage, response: ServerResponse) => {
    response.writeHead(426, { Connection: 'close', Upgrade: 'websocket' }).end(); // [RFC 6455 §4.2.2] upgrade required
  });
  http.headersTimeout = UPGRADE_TIMEOUT_MS;
  http.requestTimeout = UPGRADE_TIMEOUT_MS;
  http.on('upgrade', (request: IncomingMessage, upgraded: Duplex, head: Buffer) => {
    sockets.handleUpgrade(request, upgraded, head, (ws) => {
      const stream = createWebSocketStream(ws);
      stream.on('error', () => stream.destroy());
      serve(stream);
    });
  });
  http.on('clientError', (_error, broken: Duplex) => broken.destroy());
  socket.on('error', () => socket.destroy());
  http.emit('connection', socket);
}
