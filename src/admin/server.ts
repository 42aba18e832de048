/**
 * Admin socket server: a Unix socket (mode 0600) speaking NDJSON. Requests on one connection are
 * handled in order. A malformed, oversized or unknown request gets a coded error reply; nothing a
 * client sends can stop the server.
 */
import { chmod, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../shared/log.js';
import { OpsError, reasonOf } from '../shared/errors.js';
import {
  ADMIN_PROTOCOL_VERSION,
  encodeLine,
  MAX_REQUEST_BYTES,
  parseRequest,
  requestIdOf,
  type AdminReply,
  type RequestId,
} from './wire.js';

/** A method handler: gets the request's params, returns the result. */
export type AdminHandler = (params: unknown) => Promise<unknown> | unknown;

/** A running admin server. */
export interface AdminServer {
  readonly path: string;
  close(): Promise<void>;
}

function errorReply(id: RequestId | null, err: unknown, method: string): AdminReply {
  const error =
    err instanceof OpsError ? err : new OpsError('ADM_INTERNAL', { method, reason: reasonOf(err) });
  return { v: ADMIN_PROTOCOL_VERSION, id, error: { code: error.code, message: error.message, details: error.details } };
}

/** Handles one request line and returns the reply. */
export async function handleLine(line: string, handlers: Readonly<Record<string, AdminHandler>>): Promise<AdminReply> {
  let id: RequestId | null = null;
  let method = '(unknown)';
  try {
    try {
      id = requestIdOf(JSON.parse(line));
    } catch {
      id = null;
    }
    const request = parseRequest(line);
    method = request.method;
    const handler = Object.hasOwn(handlers, method) ? handlers[method] : undefined;
    if (!handler) throw new OpsError('ADM_UNKNOWN_METHOD', { method });
    const result = await handler(request.params);
    return { v: ADMIN_PROTOCOL_VERSION, id: request.id, result: result ?? null };
  } catch (err) {
    return errorReply(id, err, method);
  }
}

function serve(socket: Socket, handlers: Readonly<Record<string, AdminHandler>>, logger: Logger): void {
  let buffer = '';
  let refused = false;
  let chain = Promise.resolve();
  socket.setEncoding('utf8');
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    if (refused) return;
    buffer += chunk;
    let nl = buffer.indexOf('\n');
    while (nl >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (Buffer.byteLength(line) > MAX_REQUEST_BYTES) {
        const reply = errorReply(null, new OpsError('ADM_REQUEST_TOO_LARGE', { limit: MAX_REQUEST_BYTES }), '(unknown)');
        chain = chain.then(() => {
          if (!socket.destroyed) socket.write(encodeLine(reply));
        });
      } else if (line !== '') {
        chain = chain.then(async () => {
          const reply = await handleLine(line, handlers);
          if ('error' in reply) logger.debug({ code: reply.error.code }, 'admin request failed');
          if (!socket.destroyed) socket.write(encodeLine(reply));
        });
      }
      nl = buffer.indexOf('\n');
    }
    if (Buffer.byteLength(buffer) > MAX_REQUEST_BYTES) {
      buffer = '';
      refused = true;
      logger.warn({ limit: MAX_REQUEST_BYTES }, 'admin request too large; closing the connection');
      const reply = errorReply(null, new OpsError('ADM_REQUEST_TOO_LARGE', { limit: MAX_REQUEST_BYTES }), '(unknown)');
      chain = chain.then(() => {
        socket.end(encodeLine(reply));
      });
    }
  });
}

/** Starts the admin server on `path` (a stale socket file there is replaced). */
export async function startAdminServer(
  path: string,
  handlers: Readonly<Record<string, AdminHandler>>,
  logger: Logger,
): Promise<AdminServer> {
  await rm(path, { force: true });
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serve(socket, handlers, logger);
  });
  const previous = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // exclusive: a frontend of a local topology (a cluster worker) binds its own socket, not its supervisor's.
      server.listen({ path, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(previous);
  }
  await chmod(path, 0o600);
  server.on('error', (err) => logger.error({ err: err.message }, 'admin socket error'));
  return {
    path,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.end();
      setTimeout(() => sockets.forEach((s) => s.destroy()), 1000).unref();
      await closed;
      await rm(path, { force: true });
    },
  };
}
