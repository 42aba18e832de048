/**
 * Options of the TLS servers of listener ports (and of the TLS benchmark): TLS 1.2 or 1.3, a
 * bounded handshake (a client that opens a socket and never completes the handshake holds it for
 * at most {@link TLS_HANDSHAKE_TIMEOUT_MS}, not Node's default two minutes), session tickets on so
 * reconnecting clients can resume without a full handshake.
 */
import type { TlsOptions } from 'node:tls';

/** Longest a TLS handshake may take before the socket is closed (slowloris on the handshake). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** The server options for a certificate and key (PEM), plus any extra (client certificate checks). */
export function tlsServerOptions(files: { readonly cert: Buffer; readonly key: Buffer }, extra: TlsOptions = {}): TlsOptions {
  return {
    cert: files.cert,
    key: files.key,
    minVersion: 'TLSv1.2',
    handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
    ...extra,
  };
}
