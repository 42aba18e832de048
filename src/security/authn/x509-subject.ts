/**
 * Distinguished names of the X509 method: the `subject` of an `authorizationAttributes` entry
 * (AIO writes them as OpenSSL prints them: `CN = Contoso Root CA Cert, OU = Engineering, C = US`)
 * compared with a certificate's subject. Two names are the same when they hold the same
 * `attribute = value` pairs, in any order: attribute types are case-insensitive, spaces around
 * `=` and `,` do not count, values are compared exactly.
 */
import type { X509Certificate } from 'node:crypto';

/** A distinguished name as sorted `TYPE=value` pairs (its canonical form). */
export type Dn = readonly string[];

/** Long attribute names OpenSSL may print, as the short ones Node reports. */
const ALIASES: Readonly<Record<string, string>> = {
  COMMONNAME: 'CN',
  ORGANIZATIONNAME: 'O',
  ORGANIZATIONALUNITNAME: 'OU',
  COUNTRYNAME: 'C',
  STATEORPROVINCENAME: 'ST',
  LOCALITYNAME: 'L',
  EMAILADDRESS: 'EMAILADDRESS',
};

const pair = (type: string, value: string): string => {
  const upper = type.trim().toUpperCase();
  return `${ALIASES[upper] ?? upper}=${value}`;
};

/** Removes `\` escapes (`\,` `\"` `\\`) of a value. */
const unescape = (value: string): string => value.replace(/\\(.)/g, '$1');

/**
 * Parses a configured subject: `TYPE = value` parts separated by `,` (a value may be quoted,
 * `O = "Fabrikam, Inc"`, or escape a comma, `O = Fabrikam\, Inc`). Returns undefined when a part
 * has no `=`.
 */
export function parseDn(text: string): Dn | undefined {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '\\' && i + 1 < text.length) {
      current += ch + (text[++i] as string);
    } else if (ch === '"') {
      quoted = !quoted;
      current += ch;
    } else if (ch === ',' && !quoted) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  const pairs: string[] = [];
  for (const part of parts) {
    if (part.trim() === '') continue;
    const at = part.indexOf('=');
    if (at <= 0) return undefined;
    let value = part.slice(at + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    pairs.push(pair(part.slice(0, at), unescape(value)));
  }
  return pairs.length === 0 ? undefined : pairs.sort();
}

/** The subject of a certificate (Node prints one `TYPE=value` per line, RFC 2253 escapes). */
export function dnOf(cert: X509Certificate): Dn {
  return cert.subject
    .split('\n')
    .filter((line) => line.includes('='))
    .map((line) => {
      const at = line.indexOf('=');
      return pair(line.slice(0, at), unescape(line.slice(at + 1)));
    })
    .sort();
}

/** Whether two names hold the same pairs. */
export function sameDn(a: Dn, b: Dn): boolean {
  return a.length === b.length && a.every((p, i) => p === b[i]);
}

/** The first common name (CN) of a certificate's subject, if any. */
export function commonNameOf(cert: X509Certificate): string | undefined {
  const line = cert.subject.split('\n').find((l) => l.startsWith('CN='));
  return line === undefined ? undefined : unescape(line.slice('CN='.length));
}

/** A certificate's subject for logs and reasons: `CN=a, O=b`. */
export function printDn(cert: X509Certificate): string {
  return cert.subject.split('\n').join(', ');
}
