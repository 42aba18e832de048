/**
 * Local stand-in for cert-manager: the instance keeps its own CA (`secrets/ca/ca.crt`, `ca.key`
 * mode 0600, made once with the `openssl` command) and issues the server certificate of every
 * `tls.mode: Automatic` port from it, with the SANs of the port's `certManagerCertificateSpec`.
 * Clients trust the one CA file (`ops broker listener show` prints its path). A certificate is
 * re-issued when it is missing, not issued by this CA, lacks a SAN the spec asks for, or expires
 * within a day.
 */
import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { instanceCaFiles, type InstanceCaFiles } from '../instance/layout.js';
import { assertRealFolder } from '../instance/no-follow.js';

const run = promisify(execFile);

/** Validity of the instance CA: 10 years. */
const CA_DAYS = 3650;
/** A certificate expiring sooner than this is re-issued. */
const RENEW_BEFORE_MS = 24 * 3600 * 1000;
const OPENSSL_TIMEOUT_MS = 15_000;

/** What the certificate should cover (from `certManagerCertificateSpec`). */
export interface SelfSignedSpec {
  readonly duration?: string;
  readonly san?: { readonly dns?: readonly string[]; readonly ip?: readonly string[] };
}

/** Days of a Go duration like `2160h` or `90m` (at least 1; default 90 days as cert-manager). */
export function durationDays(duration: string | undefined): number {
  if (duration === undefined) return 90;
  let hours = 0;
  for (const m of duration.matchAll(/([0-9.]+)(h|m|s)/g)) {
    const value = Number(m[1]);
    hours += m[2] === 'h' ? value : m[2] === 'm' ? value / 60 : value / 3600;
  }
  return Math.max(1, Math.ceil(hours / 24));
}

/** The SANs a port's certificate carries: localhost and the loopback addresses, plus the spec's. */
export function sansOf(spec: SelfSignedSpec): { dns: string[]; ip: string[] } {
  return {
    dns: [...new Set(['localhost', ...(spec.san?.dns ?? [])])],
    ip: [...new Set(['127.0.0.1', '::1', ...(spec.san?.ip ?? [])])],
  };
}

/** Makes the instance CA once (key 0600); concurrent callers share the work. */
const making = new Map<string, Promise<void>>();
export function ensureInstanceCa(ca: InstanceCaFiles): Promise<void> {
  if (existsSync(ca.cert) && existsSync(ca.key)) return Promise.resolve();
  let pending = making.get(ca.dir);
  if (pending === undefined) {
    pending = makeCa(ca).finally(() => making.delete(ca.dir));
    making.set(ca.dir, pending);
  }
  return pending;
}

async function makeCa(ca: InstanceCaFiles): Promise<void> {
  await mkdir(ca.dir, { recursive: true, mode: 0o700 });
  const instance = basename(dirname(dirname(ca.dir)));
  const tmp = await mkdtemp(join(ca.dir, '.new-'));
  try {
    await run(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-days', String(CA_DAYS),
        '-subj', `/O=ops-broker/CN=ops-broker ${instance} CA`,
        '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0',
        '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
        '-keyout', join(tmp, 'ca.key'),
        '-out', join(tmp, 'ca.crt'),
      ],
      { timeout: OPENSSL_TIMEOUT_MS },
    );
    await chmod(join(tmp, 'ca.key'), 0o600);
    // Key first: a ca.crt without its key is never visible.
    await rename(join(tmp, 'ca.key'), ca.key);
    await rename(join(tmp, 'ca.crt'), ca.cert);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** True when `dir/tls.crt` is issued by the CA, covers the SANs and is not about to expire. */
async function isCurrent(dir: string, caCert: X509Certificate, sans: { dns: string[]; ip: string[] }): Promise<boolean> {
  if (!existsSync(join(dir, 'tls.key'))) return false;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(await readFile(join(dir, 'tls.crt')));
  } catch {
    return false;
  }
  if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) return false;
  if (Date.parse(cert.validTo) - Date.now() < RENEW_BEFORE_MS) return false;
  const have = new Set((cert.subjectAltName ?? '').split(', '));
  return sans.dns.every((d) => have.has(`DNS:${d}`)) && sans.ip.every((i) => have.has(`IP Address:${i}`) || have.has(`IP Address:${expandIpv6(i)}`));
}

/** Node prints IPv6 SANs in full form (`0:0:0:0:0:0:0:1`). */
function expandIpv6(ip: string): string {
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.map((g) => (g.replace(/^0+/, '') || '0').toUpperCase()).join(':');
}

/**
 * Ensures `dir/tls.crt` and `dir/tls.key` exist as a server certificate issued by the instance CA
 * (in `<dir>/../ca/`, made on first use), with the spec's SANs and duration.
 */
export async function ensureSelfSigned(dir: string, spec: SelfSignedSpec): Promise<void> {
  const ca = instanceCaFiles(dirname(dir));
  await assertRealFolder(ca.dir); // keys are written here: never through a link (INST_UNSAFE_PATH)
  await assertRealFolder(dir);
  await ensureInstanceCa(ca);
  const caCert = new X509Certificate(await readFile(ca.cert));
  const sans = sansOf(spec);
  if (await isCurrent(dir, caCert, sans)) return;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const san = sans.dns.map((d) => `DNS:${d}`).concat(sans.ip.map((i) => `IP:${i}`)).join(',');
  const tmp = await mkdtemp(join(dir, '.new-'));
  try {
    const ext = join(tmp, 'ext.cnf');
    await writeFile(
      ext,
      [
        `subjectAltName=${san}`,
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        'subjectKeyIdentifier=hash',
        'authorityKeyIdentifier=keyid',
        '',
      ].join('\n'),
    );
    await run(
      'openssl',
      ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${spec.san?.dns?.[0] ?? 'localhost'}`, '-keyout', join(tmp, 'tls.key'), '-out', join(tmp, 'tls.csr')],
      { timeout: OPENSSL_TIMEOUT_MS },
    );
    await run(
      'openssl',
      [
        'x509', '-req', '-in', join(tmp, 'tls.csr'),
        '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${randomSerial()}`,
        '-days', String(durationDays(spec.duration)),
        '-extfile', ext,
        '-out', join(tmp, 'tls.crt'),
      ],
      { timeout: OPENSSL_TIMEOUT_MS },
    );
    await chmod(join(tmp, 'tls.key'), 0o600);
    await rename(join(tmp, 'tls.key'), join(dir, 'tls.key'));
    await rename(join(tmp, 'tls.crt'), join(dir, 'tls.crt'));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function randomSerial(): string {
  return randomBytes(16).toString('hex').replace(/^[89a-f]/, '1'); // positive, 128 bits
}
