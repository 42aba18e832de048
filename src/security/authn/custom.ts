/**
 * The `Custom` authentication method: the CONNECT's credentials go to the user's HTTPS server, as
 * AIO's custom authentication does (API 0.5.0: POST `endpoint?api-version=0.5.0`, JSON body from
 * `custom-request.ts`, answer read by `custom-response.ts`), with the configured `headers`, the
 * `caCertConfigMap` CA and the `auth.x509.secretRef` client certificate (`custom-transport.ts`).
 *
 * As AIO: a pass allows the client with the server's attributes, a fail refuses it with the
 * server's reason code, and a server that cannot be reached, does not answer within the timeout
 * (`OPS_CUSTOM_AUTH_TIMEOUT_MS`, default 5 s), presents a certificate the CA does not trust, or
 * answers anything but a documented pass or fail is "not relevant": the next method is tried.
 */
import type { AuthenticationRequest } from '../../broker/hooks.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { AuthnMethod, AuthnMethodConfig, AuthnMethodDeps, AuthnOutcome } from './method.js';
import { connectRequestBody } from './custom-request.js';
import { interpretAnswer } from './custom-response.js';
import { customAuthTimeoutMs, readCustomSettings } from './custom-settings.js';
import { CustomTransport, readTlsMaterial } from './custom-transport.js';

/** The same problem is logged at warn at most once in this period (then at debug). */
const REPEAT_WARN_MS = 30_000;

/** Options for tests and embedders. */
export interface CustomMethodOptions {
  /** Bound of one request to the server; default `OPS_CUSTOM_AUTH_TIMEOUT_MS` or 5 s. */
  readonly timeoutMs?: number;
}

/** Compiles a `Custom` method. */
export function createCustomMethod(config: AuthnMethodConfig, deps: AuthnMethodDeps, options: CustomMethodOptions = {}): AuthnMethod {
  const { logger, secretsDir } = deps;
  const settings = readCustomSettings(config);
  const fromEnv = customAuthTimeoutMs();
  if (options.timeoutMs === undefined && fromEnv.problem !== undefined) logger.warn({}, `${fromEnv.problem}; using ${fromEnv.timeoutMs} ms`);
  const timeoutMs = options.timeoutMs ?? fromEnv.timeoutMs;
  const transport = new CustomTransport(settings.caRef, settings.clientCertRef);
  const lastWarned = new Map<string, number>();

  /** Logs a failure to get a decision (without credentials) and says "not relevant". */
  const notRelevant = (request: AuthenticationRequest, problem: string): AuthnOutcome => {
    const now = Date.now();
    const fields = { endpoint: settings.where, clientId: request.clientId };
    const message = `custom authentication server gave no decision, trying the next method: ${problem}`;
    if (now - (lastWarned.get(problem) ?? -Infinity) >= REPEAT_WARN_MS) {
      lastWarned.set(problem, now);
      if (lastWarned.size > 100) lastWarned.clear();
      logger.warn(fields, message);
    } else {
      logger.debug(fields, message);
    }
    return { kind: 'notRelevant', reason: `custom authentication server ${settings.where}: ${problem}` };
  };

  const authenticate = async (request: AuthenticationRequest): Promise<AuthnOutcome> => {
    if (settings.url === undefined) return notRelevant(request, settings.problem ?? 'no endpoint');
    const material = await readTlsMaterial(secretsDir, settings.caRef, settings.clientCertRef);
    if ('problem' in material) return notRelevant(request, material.problem);
    const body = JSON.stringify(connectRequestBody(request));
    const result = await transport.post(settings.url, settings.headers, body, material, timeoutMs);
    if ('error' in result) return notRelevant(request, result.error);
    const answer = interpretAnswer(result.status, result.body);
    switch (answer.kind) {
      case 'noDecision':
        return notRelevant(request, answer.problem);
      case 'fail': {
        const code = `0x${answer.reasonCode.toString(16)}`;
        // The server's message is for the broker's log only (AIO); the client sees the reason code.
        const fields = { endpoint: settings.where, clientId: request.clientId, reasonCode: answer.reasonCode };
        if (answer.problem !== undefined) logger.warn(fields, `custom authentication server refused the client with a malformed answer (${answer.problem}); using ${code}`);
        if (answer.message !== undefined) logger.info(fields, `custom authentication server refused the client: ${answer.message}`);
        return { kind: 'deny', reasonCode: answer.reasonCode, reason: `refused by the custom authentication server (${code})` };
      }
      case 'pass':
        if (answer.expiresAt !== undefined && answer.expiresAt.getTime() <= Date.now()) {
          return { kind: 'deny', reasonCode: ReasonCode.NotAuthorized, reason: `the custom authentication server's expiry ${answer.expiresAt.toISOString()} has passed` };
        }
        // The engine disconnects the client when the server's expiry passes (AIO: custom auth credential expiry).
        return { kind: 'allow', attributes: answer.attributes, ...(answer.expiresAt !== undefined ? { extras: { expiresAt: answer.expiresAt.getTime() } } : {}) };
    }
  };

  return { name: 'Custom', authenticate };
}
