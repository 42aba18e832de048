/**
 * The settings of one `Custom` authentication method (AIO `customSettings`: `endpoint`,
 * `caCertConfigMap`, `auth.x509.secretRef`, `headers`), normalised for the HTTPS client, and the
 * request timeout (`OPS_CUSTOM_AUTH_TIMEOUT_MS`).
 */
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { isRecord } from '../../shared/plain-objects.js';
import type { AuthnMethodConfig } from './method.js';

/** The custom authentication API version ops-broker speaks (AIO auth-server-template `api/0.5.0.yaml`). */
export const CUSTOM_AUTH_API_VERSION = '0.5.0';

/** Default bound of one request to the custom authentication server (connect, TLS, answer). */
export const DEFAULT_CUSTOM_AUTH_TIMEOUT_MS = 5_000;
/** Smallest and largest accepted `OPS_CUSTOM_AUTH_TIMEOUT_MS`. */
export const CUSTOM_AUTH_TIMEOUT_RANGE_MS = { min: 100, max: 60_000 } as const;

/** What the method needs to call the server. */
export interface CustomSettings {
  /** The endpoint with `api-version` added to its query; undefined when `endpoint` is unusable. */
  readonly url: URL | undefined;
  /** The endpoint without credentials, query or fragment: safe to log. */
  readonly where: string;
  /** Why `url` is undefined. */
  readonly problem: string | undefined;
  /** `caCertConfigMap`: folder `secrets/NAME/` of the CA that must have issued the server's certificate. */
  readonly caRef: string | undefined;
  /** `auth.x509.secretRef`: folder `secrets/NAME/` with the broker's client certificate (`tls.crt`, `tls.key`). */
  readonly clientCertRef: string | undefined;
  /** `headers`, sent with every request. */
  readonly headers: Readonly<Record<string, string>>;
}

const nonEmpty = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Reads a stored `Custom` method (the schema validated it; this stays defensive). */
export function readCustomSettings(config: AuthnMethodConfig): CustomSettings {
  const raw = isRecord(config['customSettings']) ? config['customSettings'] : {};
  const auth = isRecord(raw['auth']) ? raw['auth'] : {};
  const x509 = isRecord(auth['x509']) ? auth['x509'] : {};
  const headers: Record<string, string> = {};
  let headerProblem: string | undefined;
  if (isRecord(raw['headers'])) {
    for (const [name, value] of Object.entries(raw['headers'])) {
      if (typeof value !== 'string') continue;
      headerProblem ??= checkHeader(name, value);
      headers[name] = value;
    }
  }
  const endpoint = parseEndpoint(raw['endpoint']);
  const problem = endpoint.problem ?? headerProblem;
  return {
    url: problem === undefined ? endpoint.url : undefined,
    where: endpoint.where,
    problem,
    caRef: nonEmpty(raw['caCertConfigMap']),
    clientCertRef: nonEmpty(x509['secretRef']),
    headers,
  };
}

/** Why a configured header cannot be sent (the value is never quoted: it may be a secret). */
function checkHeader(name: string, value: string): string | undefined {
  try {
    validateHeaderName(name);
  } catch {
    return `customSettings.headers: '${name.slice(0, 60)}' is not a valid HTTP header name`;
  }
  try {
    validateHeaderValue(name, value);
  } catch {
    return `customSettings.headers: the value of '${name}' has characters HTTP headers cannot carry`;
  }
  return undefined;
}

function parseEndpoint(endpoint: unknown): { url: URL | undefined; where: string; problem: string | undefined } {
  if (typeof endpoint !== 'string') return { url: undefined, where: '(none)', problem: 'customSettings.endpoint is missing' };
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return { url: undefined, where: '(invalid)', problem: 'customSettings.endpoint is not a valid URL' };
  }
  const where = `${url.protocol}//${url.host}${url.pathname}`;
  if (url.protocol !== 'https:') return { url: undefined, where, problem: 'customSettings.endpoint must be an https:// URL' };
  url.hash = '';
  url.searchParams.set('api-version', CUSTOM_AUTH_API_VERSION);
  return { url, where, problem: undefined };
}

/**
 * The request timeout: `OPS_CUSTOM_AUTH_TIMEOUT_MS` when it is an integer in range, else the
 * default (`problem` tells why a set value was not used).
 */
export function customAuthTimeoutMs(env: NodeJS.ProcessEnv = process.env): { timeoutMs: number; problem?: string } {
  const text = env['OPS_CUSTOM_AUTH_TIMEOUT_MS'];
  if (text === undefined || text === '') return { timeoutMs: DEFAULT_CUSTOM_AUTH_TIMEOUT_MS };
  const value = Number(text);
  const { min, max } = CUSTOM_AUTH_TIMEOUT_RANGE_MS;
  if (!Number.isInteger(value) || value < min || value > max) {
    return { timeoutMs: DEFAULT_CUSTOM_AUTH_TIMEOUT_MS, problem: `OPS_CUSTOM_AUTH_TIMEOUT_MS must be an integer from ${min} to ${max} (got '${text}')` };
  }
  return { timeoutMs: value };
}
