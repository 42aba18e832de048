/**
 * `ops state` against a local instance whose MQTT ports all use TLS (the default deployment, made
 * without `--add-insecure-listener`): the CLI's user owns the instance's files, so it connects as an
 * application in the cluster would, trusting the instance CA and presenting a short-lived service
 * account token signed with the instance key (username `K8S-SAT`, subject `ops-cli`).
 */
import { readFile } from 'node:fs/promises';
import { findResource } from '../../../config/resources.js';
import type { AuthenticationProperties } from '../../../config/types.js';
import type { InstancePaths } from '../../../instance/layout.js';
import { readRuntimeState } from '../../../instance/runtime-file.js';
import type { OpenPort } from '../../../instance/status-file.js';
import { isRecord } from '../../../shared/plain-objects.js';
import { SAT_AUTHENTICATION_METHOD } from '../../../shared/sat-token.js';
import { mintToken } from '../mint-token.js';
import type { Endpoint } from './state-store-client.js';

/** The identity of the CLI's tokens: the username authorization rules and session ownership see. */
export const CLI_TOKEN_SUBJECT = 'ops-cli';
/** Lifetime of the CLI's tokens: long enough for `ops state watch` to connect, short if one leaks. */
const CLI_TOKEN_TTL_SECONDS = 300;

/** The first audience of the ServiceAccountToken method of `authentication`, if it has one. */
function tokenAudience(authentication: AuthenticationProperties | undefined): string | undefined {
  for (const method of authentication?.authenticationMethods ?? []) {
    if (method.method !== 'ServiceAccountToken') continue;
    const settings = method['serviceAccountTokenSettings'];
    const first: unknown = isRecord(settings) && Array.isArray(settings['audiences']) ? settings['audiences'][0] : undefined;
    if (typeof first === 'string') return first;
  }
  return undefined;
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
  const authentication = findResource(state.listeners, port.listener)?.ports.find((p) => p.port === port.configuredPort)?.authenticationRef;
  if (authentication === undefined) return { host, port: port.port, tls };
  const audience = tokenAudience(findResource(state.authentications, authentication));
  if (audience === undefined) return undefined;
  const { token } = await mintToken(paths.secrets, paths.name, { audiences: [audience], ttlSeconds: CLI_TOKEN_TTL_SECONDS, subject: CLI_TOKEN_SUBJECT });
  return { host, port: port.port, tls, username: SAT_AUTHENTICATION_METHOD, password: Buffer.from(token, 'utf8') };
}
