/**
 * The cluster backend's address (issue 15): `--backend redis://h1:p1,h2:p2` of `ops create`,
 * `ops broker run|start` and `ops-broker`. Pure parsing: host names, IPv4 and `[IPv6]` with a port
 * 1-65535 each, at least one. Not supported yet (refused with a clear reason): TLS (`rediss://`),
 * a user or password, a database path, query or fragment.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { OpsError } from '../shared/errors.js';

/** A Redis Cluster backend: the seed nodes a frontend reads the topology from. */
export interface BackendAddress {
  readonly kind: 'redis-cluster';
  /** `host:port` (`[v6]:port` for IPv6) of each seed, in the order given, without duplicates. */
  readonly seeds: readonly string[];
}

/** The flag named in errors when the caller does not say. */
export const BACKEND_FLAG = '--backend';

/** Most seeds one address may list (a cluster has at most a few hundred nodes; any one answering is enough). */
export const MAX_BACKEND_SEEDS = 64;

const SCHEME = 'redis://';
const TLS_SCHEME = 'rediss://';

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, at most 253 characters. */
const HOST_NAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** The value as shown in errors: a user or password before `@` is replaced by `***`. */
function shown(value: string): string {
  const at = value.lastIndexOf('@');
  if (at === -1) return JSON.stringify(value);
  const scheme = value.indexOf('://');
  const start = scheme === -1 ? 0 : scheme + 3;
  return JSON.stringify(`${value.slice(0, start)}***${value.slice(at)}`);
}

function invalid(flag: string, value: string, reason: string): OpsError {
  return new OpsError('CFG_BACKEND_INVALID', { flag, value: shown(value), reason });
}

/** One `host:port` entry as a seed, or why it is not one. */
function parseSeed(entry: string): { seed: string } | { reason: string } {
  let host: string;
  let portText: string;
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    if (close === -1) return { reason: `"${entry}" has no closing ]` };
    host = entry.slice(1, close);
    if (!isIPv6(host)) return { reason: `"${host}" in [...] is not an IPv6 address` };
    if (entry[close + 1] !== ':') return { reason: `"${entry}" has no :port` };
    portText = entry.slice(close + 2);
  } else {
    const colon = entry.lastIndexOf(':');
    if (colon === -1) return { reason: `"${entry}" has no :port` };
    host = entry.slice(0, colon);
    portText = entry.slice(colon + 1);
    if (host.includes(':')) return { reason: `"${entry}": an IPv6 address must be in brackets, as [::1]:7000` };
    if (host === '') return { reason: `"${entry}" has no host` };
    const dotted = /^[0-9.]+$/.test(host);
    if (dotted ? !isIPv4(host) : !HOST_NAME.test(host)) {
      return { reason: `"${host}" is not a host name or IPv4 address` };
    }
  }
  if (!/^\d{1,5}$/.test(portText)) return { reason: `the port of "${entry}" is not a number` };
  const port = Number(portText);
  if (port < 1 || port > 65535) return { reason: `the port of "${entry}" is not in 1-65535` };
  return { seed: host.includes(':') ? `[${host.toLowerCase()}]:${port}` : `${host.toLowerCase()}:${port}` };
}

/**
 * Parses a backend address. Throws `CFG_BACKEND_INVALID` naming `flag` and the bad part; a user or
 * password in the value is never repeated in the error.
 */
export function parseBackendAddress(value: string, flag: string = BACKEND_FLAG): BackendAddress {
  const text = value.trim();
  const lower = text.toLowerCase();
  if (lower.startsWith(TLS_SCHEME)) throw invalid(flag, value, 'TLS to the backend is not supported yet (use redis://)');
  if (!lower.startsWith(SCHEME)) throw invalid(flag, value, 'the scheme must be redis://');
  const rest = text.slice(SCHEME.length);
  if (rest.includes('@')) throw invalid(flag, value, 'a user or password is not supported yet');
  const extra = rest.search(/[/?#]/);
  if (extra !== -1) throw invalid(flag, value, `"${rest.slice(extra)}": a database path, query or fragment is not supported`);
  if (rest === '') throw invalid(flag, value, 'no host:port given');
  const entries = rest.split(',');
  if (entries.length > MAX_BACKEND_SEEDS) throw invalid(flag, value, `more than ${MAX_BACKEND_SEEDS} seeds`);
  const seeds: string[] = [];
  for (const entry of entries) {
    if (entry === '') throw invalid(flag, value, 'an empty entry in the host list');
    const parsed = parseSeed(entry);
    if ('reason' in parsed) throw invalid(flag, value, parsed.reason);
    if (!seeds.includes(parsed.seed)) seeds.push(parsed.seed);
  }
  return { kind: 'redis-cluster', seeds };
}

/** The address as text again: `redis://` and the seeds joined by commas. */
export function formatBackendAddress(address: BackendAddress): string {
  return `${SCHEME}${address.seeds.join(',')}`;
}
