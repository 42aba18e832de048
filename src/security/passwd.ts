/**
 * Username/password authentication from a file of salted scrypt hashes (a local convenience; AIO
 * has no such method). One user per line:
 * `username:scrypt:N:r:p:salt-base64:hash-base64[:attributes]`, where the optional attributes are
 * URL-encoded `name=value&name=value` pairs given to authorization as `{principal.attributes.X}`.
 * Blank lines and lines starting with `#` are ignored.
 */
import { randomBytes, scrypt, scryptSync, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** One user of the password file. */
export interface PasswdEntry {
  readonly username: string;
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
  readonly attributes: Readonly<Record<string, string>>;
}

/** Largest scrypt cost accepted from the file (bounds the work a bad line can cause). */
const MAX_N = 1 << 20;

/** Parses the file; malformed lines are skipped and reported by 1-based number. */
export function parsePasswd(text: string): { entries: Map<string, PasswdEntry>; badLines: number[] } {
  const entries = new Map<string, PasswdEntry>();
  const badLines: number[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const entry = parseLine(line);
    if (entry === undefined) badLines.push(index + 1);
    else entries.set(entry.username, entry);
  });
  return { entries, badLines };
}

function parseLine(line: string): PasswdEntry | undefined {
  const [username, kind, n, r, p, salt, hash, attrs, ...rest] = line.split(':');
  if (username === undefined || username === '' || kind !== 'scrypt' || rest.length > 0) return undefined;
  const [N, R, P] = [Number(n), Number(r), Number(p)];
  if (![N, R, P].every((v) => Number.isInteger(v) && v > 0) || N > MAX_N || (N & (N - 1)) !== 0 || R * P > 64) return undefined;
  const saltBytes = Buffer.from(salt ?? '', 'base64');
  const hashBytes = Buffer.from(hash ?? '', 'base64');
  if (saltBytes.length === 0 || hashBytes.length < 16) return undefined;
  const attributes = Object.fromEntries(new URLSearchParams(attrs ?? ''));
  return { username, N, r: R, p: P, salt: saltBytes, hash: hashBytes, attributes };
}

const options = (e: Pick<PasswdEntry, 'N' | 'r' | 'p'>): ScryptOptions => ({ N: e.N, r: e.r, p: e.p, maxmem: 256 * e.N * e.r + 1024 * 1024 });

/** Whether `password` is the entry's (constant-time comparison). */
export function verifyPassword(entry: PasswdEntry, password: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    scrypt(password, entry.salt, entry.hash.length, options(entry), (err, derived) => {
      resolve(err === null && timingSafeEqual(derived, entry.hash));
    });
  });
}

/** Makes a password file line (N=16384, r=8, p=1, 16-byte salt, 32-byte hash). */
export function passwdLine(username: string, password: string, attributes: Readonly<Record<string, string>> = {}): string {
  const cost = { N: 16_384, r: 8, p: 1 };
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, 32, options(cost));
  const attrs = new URLSearchParams(attributes).toString();
  return [username, 'scrypt', cost.N, cost.r, cost.p, salt.toString('base64'), hash.toString('base64'), ...(attrs ? [attrs] : [])].join(':');
}
