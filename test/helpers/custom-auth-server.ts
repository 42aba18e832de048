/**
 * A real HTTPS custom authentication server for tests (AIO custom authentication API 0.5.0): it
 * records every request (URL, headers, JSON body, the broker's client certificate CN) and answers
 * with what the test's `answer` function says, or never answers (`'hang'`).
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { CertFiles } from './certs.js';

/** One request the server received. */
export interface SeenRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingMessage['headers'];
  readonly body: Record<string, unknown>;
  /** CN of the client certificate the broker presented (undefined without one). */
  readonly clientCn: string | undefined;
}

/** What to answer: status and body (an object is sent as JSON, a string as is), or never. */
export type Answer = { readonly status: number; readonly body?: unknown } | 'hang';

/** A running server. */
export interface CustomAuthServer {
  readonly port: number;
  /** `https://127.0.0.1:PORT/auth`. */
  readonly endpoint: string;
  readonly seen: SeenRequest[];
  /** Resolves when a request arrives whose answer is `'hang'` (the next one). */
  nextHang(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a server with `server` cert; with `clientCa`, it requires a client certificate issued by it. */
export async function startCustomAuthServer(
  server: CertFiles,
  answer: (request: SeenRequest) => Answer,
  clientCa?: CertFiles,
): Promise<CustomAuthServer> {
  const seen: SeenRequest[] = [];
  const hanging: ServerResponse[] = [];
  let onHang: (() => void) | undefined;
  const https: Server = createServer(
    { cert: server.certPem, key: server.keyPem, ...(clientCa !== undefined ? { ca: clientCa.certPem, requestCert: true, rejectUnauthorized: true } : {}) },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        const text = Buffer.concat(chunks).toString('utf8');
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          body = { unparsable: text };
        }
        const request: SeenRequest = {
          method: req.method ?? '',
          url: new URL(req.url ?? '/', 'https://127.0.0.1'),
          headers: req.headers,
          body,
          clientCn: typeof peer?.subject?.CN === 'string' ? peer.subject.CN : undefined,
        };
        seen.push(request);
        const a = answer(request);
        if (a === 'hang') {
          hanging.push(res);
          onHang?.();
          return;
        }
        const isText = typeof a.body === 'string';
        res.writeHead(a.status, { 'content-type': isText ? 'text/plain' : 'application/json' });
        res.end(a.body === undefined ? '' : isText ? (a.body as string) : JSON.stringify(a.body));
      });
    },
  );
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', () => resolve()));
  const port = (https.address() as { port: number }).port;
  return {
    port,
    endpoint: `https://127.0.0.1:${port}/auth`,
    seen,
    nextHang: () => new Promise<void>((resolve) => (onHang = resolve)),
    close: async () => {
      for (const res of hanging) res.destroy();
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => resolve()));
    },
  };
}
