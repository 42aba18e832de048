/**
 * `ops state` against a local instance whose MQTT ports all use TLS (the default deployment, made
 * without `--add-insecure-listener`): the CLI's user owns the instance's files, so it connects as an
 * application in the cluster would, trusting the instance CA and presenting a short-lived service
 * account token signed with the instance key (username `K8S-SAT`, subject `ops-cli`).
 */
import { readFile } from 'node:fs/promises';
import type { InstancePaths } from '../../../instance/layout.js';
import { readRuntimeState } from '../../../instance/runtime-file.js';
import type { OpenPort } from '../../../instance/status-file.js';
import { isRecord } from '../../../shared/plain-objects.js';
import { SAT_AUTHENTICATION_METHOD } from '../../../shared/sat-token.js';
import { mintToken } from '../mint-token.js';
import type { Endpoint } from './client.js';

/** The identity of the CLI's tokens: the username authorization rules and session ownership see. */
export const CLI_TOKEN_SUBJECT = 'ops-cli';
/** Lifetime of the CLI's tokens: long enough for `ops state watch` to connect, short if one leaks. */
const CLI_TOKEN_TTL_SECONDS = 300;

/** The first audience of the ServiceAccountToken method of authentication `name`, if it has one. */
function tokenAudience(authentications: Record<string, unknown>, name: string): string | undefined {
  const authn = authentications[name];
  const methods = isRecord(authn) && Array.isArray(authn['authenticationMethods']) ? authn['authenticationMethods'] : [];
  for (const method of methods) {
    if (!isRecord(method) || method['method'] !== 'ServiceAccountToken') continue;
    const settings = method['serviceAccountTokenSettings'];
    const audiences = isRecord(settings) && Array.isArray(settings['audiences']) ? settings['audiences'] : [];
    const first: unknown = audiences[0];
    if (typeof first === 'string') return first;
  }
  return undefined;
}

/** The `authenticationRef` of `listener`'s port configured as `configuredPort`, if any. */
function authenticationOf(listeners: Record<string, unknown>, listener: string, configuredPort: number): string | undefined {
  const props = listeners[listener];
  const ports = isRecord(props) && Array.isArray(props['ports']) ? props['ports'] : [];
  const port: unknown = ports.find((p: unknown) => isRecord(p) && p['port'] === configuredPort);
  const ref = isRecord(port) ? port['authenticationRef'] : undefined;
  return typeof ref === 'string' ? ref : undefined;
}

/**
 * Where and how to reach the running instance over its TLS MQTT port (listener `default` first):
 * the instance CA, and a token when the port's authentication takes service account tokens.
 * Undefined when there is no such port, or when its authentication takes no tokens (then the user's
 * own credentials are needed, given with the security flags).
 */
export async function localTokenAccess(paths: InstancePaths, ports: readonly OpenPort[], host: string): Promise<Endpoint | undefined> {
  const tlsPorts = ports.filter((p) => p.protocol === undefined && p.tls === true);
  const port = tlsPorts.find((p) => p.listener === 'default') ?? tlsPorts[0];
  if (port === undefined) return undefined;
  const state = await readRuntimeState(paths.runtime);
  const ca = await readFile(paths.ca.cert).catch(() => undefined);
  const tls = ca === undefined ? {} : { ca };
  const authentication = authenticationOf(state.listeners, port.listener, port.configuredPort);
  if (authentication === undefined) return { host, port: port.port, tls };
  const audience = tokenAudience(state.authentications, authentication);
  if (audience === undefined) return undefined;
  const { token } = await mintToken(paths.secrets, paths.name, { audiences: [audience], ttlSeconds: CLI_TOKEN_TTL_SECONDS, subject: CLI_TOKEN_SUBJECT });
  return { host, port: port.port, tls, username: SAT_AUTHENTICATION_METHOD, password: Buffer.from(token, 'utf8') };
}
