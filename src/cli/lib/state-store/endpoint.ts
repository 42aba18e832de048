/** Where `ops state` connects, and how it prints values and notifications. */
import { OpsError } from '../../../shared/errors.js';
import type { CliContext } from '../../context.js';
import { findInstance, brokerRunState } from '../instance.js';
import type { OpenPort } from '../../../instance/status-file.js';
import type { Endpoint, ReceivedNotification } from './state-store-client.js';
import { localTokenAccess } from './local-token-access.js';
import { resolveSecurity, type SecurityInput } from './connection-security.js';

/** The port when neither `--port` nor a running instance gives one. */
export const FALLBACK_PORT = 1883;
/** The TLS port when neither `--port` nor a running instance gives one (statestore-cli's default). */
export const FALLBACK_TLS_PORT = 8883;

/** Connection flags of every `ops state` command. */
export interface ConnectionInput extends SecurityInput {
  readonly instance: string;
  /** True when the user named the instance: then a missing one is an error, not a fallback to localhost. */
  readonly instanceGiven?: boolean;
  readonly hostname?: string;
  readonly port?: number;
}

/** The MQTT (not WebSockets) port of the `default` listener, or the first one, with or without TLS, of a running broker. */
export function defaultListenerPort(ports: readonly OpenPort[], tls = false): number | undefined {
  const candidates = ports.filter((p) => p.protocol === undefined && (p.tls === true) === tls);
  return (candidates.find((p) => p.listener === 'default') ?? candidates[0])?.port;
}

/** True when any TLS or credential flag was given: then the connection is exactly what they say. */
function hasSecurityFlags(input: SecurityInput): boolean {
  return SECURITY_KEYS.some((k) => input[k] !== undefined);
}

/** The flags of {@link SecurityInput}. */
const SECURITY_KEYS: ReadonlyArray<keyof SecurityInput> = ['tls', 'notls', 'caFile', 'certFile', 'keyFile', 'keyPasswordFile', 'username', 'password', 'passwordFile'];

/**
 * `--hostname` (default localhost) and `--port`, else the instance's default listener port (its
 * TLS port with TLS), else 1883 (8883 with TLS); with the TLS settings and credentials. Without any
 * security flag, an instance whose MQTT ports all use TLS is reached over its TLS port with the
 * instance CA and a token of its own ({@link localTokenAccess}). An instance
 * named with `-i` that does not exist is `INST_NOT_FOUND`; only the unnamed default falls back.
 */
export async function resolveEndpoint(input: ConnectionInput, ctx: CliContext): Promise<Endpoint> {
  const host = input.hostname ?? 'localhost';
  const security = await resolveSecurity(input);
  const tls = security.tls !== undefined;
  const fallback = tls ? FALLBACK_TLS_PORT : FALLBACK_PORT;
  if (input.port !== undefined) return { host, port: input.port, ...security };
  try {
    const paths = await findInstance(ctx, input.instance);
    const state = await brokerRunState(paths);
    const port = state.running && state.status ? defaultListenerPort(state.status.ports, tls) : undefined;
    if (port !== undefined) return { host, port, ...security };
    // No port for the flags given: an instance with TLS ports only is reached with its CA and a token.
    const local = state.running && state.status && !hasSecurityFlags(input) ? await localTokenAccess(paths, state.status.ports, host) : undefined;
    return local ?? { host, port: fallback, ...security };
  } catch (err) {
    if (err instanceof OpsError && err.code === 'INST_NOT_FOUND' && input.instanceGiven !== true) return { host, port: fallback, ...security };
    throw err;
  }
}

/** `{ value }` when the bytes are UTF-8, else `{ valueBase64 }`. */
export function jsonValue(bytes: Buffer): { value: string } | { valueBase64: string } {
  try {
    return { value: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { valueBase64: bytes.toString('base64') };
  }
}

/** Writes raw bytes to stdout (UTF-8 text when the sink has no byte writer). */
export function writeBytes(ctx: CliContext, bytes: Uint8Array): void {
  if (ctx.stdout.writeBytes) ctx.stdout.writeBytes(bytes);
  else ctx.stdout.write(Buffer.from(bytes).toString('utf8'));
}

/** One notification: `SET <value>` / `DELETE` (text), or one JSON object per line. */
export function printNotification(ctx: CliContext, n: ReceivedNotification, json: boolean): void {
  if (json) {
    const value = n.operation === 'SET' ? jsonValue(n.value) : {};
    ctx.stdout.write(`${JSON.stringify({ key: n.key.toString('utf8'), operation: n.operation, ...value, ...(n.version ? { version: n.version } : {}) })}\n`);
  } else if (n.operation === 'SET') {
    writeBytes(ctx, Buffer.concat([Buffer.from('SET '), n.value, Buffer.from('\n')]));
  } else ctx.stdout.write('DELETE\n');
}
