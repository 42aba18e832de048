/**
 * Admin socket client: one connection per call, one request line, one reply line. Rebuilds the
 * broker's coded errors as {@link OpsError}s with the same code and message.
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { ERROR_CODES, type ErrorCode } from '../shared/error-codes.js';
import { OpsError } from '../shared/errors.js';
import { ADMIN_PROTOCOL_VERSION, encodeLine, parseReply, type AdminMethod, type AdminReply } from './wire.js';

/** Options of {@link callAdmin}. */
export interface CallOptions {
  /** Milliseconds to wait for the reply; default 10000. */
  readonly timeoutMs?: number;
}

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/** Sends a raw line and resolves with the first reply line (used by callAdmin and by tests). */
export function sendLine(socketPath: string, line: string, timeoutMs = 10_000, label = 'request'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let buffer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new OpsError('ADM_TIMEOUT', { method: label, ms: timeoutMs }));
    }, timeoutMs);
    const done = (fn: () => void): void => {
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(line));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const nl = buffer.indexOf('\n');
      if (nl >= 0) done(() => resolve(buffer.slice(0, nl)));
    });
    socket.on('error', (err: NodeJS.ErrnoException) =>
      done(() => reject(new OpsError('ADM_UNREACHABLE', { path: socketPath, reason: err.code ?? err.message }, { cause: err }))),
    );
    socket.on('close', () => done(() => reject(new OpsError('ADM_UNREACHABLE', { path: socketPath, reason: 'the broker closed the connection' }))));
  });
}

/** Converts an error reply into the error to throw. */
export function errorFromReply(reply: AdminReply): OpsError | undefined {
  if (!('error' in reply)) return undefined;
  const { code, message, details } = reply.error;
  return isErrorCode(code) ? new OpsError(code, details ?? {}) : new OpsError('ADM_REMOTE_ERROR', { message: `${code}: ${message}` });
}

/** Calls `method` on the broker behind `socketPath` and resolves with its result. */
export async function callAdmin(socketPath: string, method: AdminMethod, params?: unknown, options: CallOptions = {}): Promise<unknown> {
  const request = { v: ADMIN_PROTOCOL_VERSION, id: randomUUID(), method, ...(params === undefined ? {} : { params }) };
  const reply = parseReply(await sendLine(socketPath, encodeLine(request), options.timeoutMs, method));
  const error = errorFromReply(reply);
  if (error) throw error;
  return 'result' in reply ? reply.result : undefined;
}
