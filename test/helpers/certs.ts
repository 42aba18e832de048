/**
 * Test certificates made with the real `openssl` command: a CA, server certificates (SANs
 * localhost, 127.0.0.1) and client certificates issued by it, as PEM files in a folder.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM files of one key pair: `cert` and `key` are paths; `certPem`/`keyPem` their contents. */
export interface CertFiles {
  readonly cert: string;
  readonly key: string;
  readonly certPem: Buffer;
  readonly keyPem: Buffer;
}

/** What a certificate says. */
export interface CertSpec {
  /** Subject, openssl form: `/CN=dev1/O=contoso`. */
  readonly subject: string;
  /** subjectAltName value, e.g. `DNS:localhost,IP:127.0.0.1`. */
  readonly san?: string;
  /** Validity in days; a negative value makes a certificate that has already expired. */
  readonly days?: number;
  /** Whether the certificate may issue others (an intermediate CA). */
  readonly ca?: boolean;
}

async function ecKey(path: string): Promise<void> {
  await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', path]);
}

async function loaded(cert: string, key: string): Promise<CertFiles> {
  return { cert, key, certPem: await readFile(cert), keyPem: await readFile(key) };
}

/** Makes a self-signed CA `name.crt`/`name.key` in `dir`. */
export async function makeCa(dir: string, name = 'ca', subject = `/CN=${name} test CA`): Promise<CertFiles> {
  await mkdir(dir, { recursive: true });
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await ecKey(key);
  await run('openssl', ['req', '-x509', '-new', '-key', key, '-days', '2', '-subj', subject, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', cert]);
  return loaded(cert, key);
}

/**
 * Issues `name.crt`/`name.key` in `dir`, signed by `issuer`. A negative `days` makes a certificate
 * whose validity ended `-days` days ago (through `openssl ca`, which can set past dates).
 */
export async function issueCert(dir: string, name: string, issuer: CertFiles, spec: CertSpec): Promise<CertFiles> {
  await mkdir(dir, { recursive: true });
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  await ecKey(key);
  await run('openssl', ['req', '-new', '-key', key, '-subj', spec.subject, '-out', csr]);
  const lines = [spec.ca === true ? 'basicConstraints=critical,CA:TRUE' : 'basicConstraints=CA:FALSE'];
  if (spec.san !== undefined) lines.push(`subjectAltName=${spec.san}`);
  await writeFile(ext, `${lines.join('\n')}\n`);
  const days = spec.days ?? 2;
  if (days >= 0) {
    await run('openssl', ['x509', '-req', '-in', csr, '-CA', issuer.cert, '-CAkey', issuer.key, '-CAcreateserial', '-days', String(days), '-extfile', ext, '-out', cert]);
  } else {
    const caDir = join(dir, `${name}-ca`);
    await mkdir(caDir, { recursive: true });
    await writeFile(join(caDir, 'index.txt'), '');
    await writeFile(join(caDir, 'serial'), '1000\n');
    const config = join(caDir, 'ca.cnf');
    await writeFile(
      config,
      ['[ca]', 'default_ca = d', '[d]', `database = ${join(caDir, 'index.txt')}`, `new_certs_dir = ${caDir}`, `serial = ${join(caDir, 'serial')}`,
        'default_md = sha256', 'policy = p', 'unique_subject = no', '[p]', 'commonName = supplied', ''].join('\n'),
    );
    await run('openssl', ['ca', '-batch', '-notext', '-preserveDN', '-config', config, '-cert', issuer.cert, '-keyfile', issuer.key, '-in', csr, '-out', cert,
      '-startdate', shortDate(Date.now() + (days - 1) * 86_400_000), '-enddate', shortDate(Date.now() + days * 86_400_000), '-extfile', ext]);
  }
  return loaded(cert, key);
}

/** `YYMMDDHHMMSSZ` (openssl ca's date form). */
function shortDate(ms: number): string {
  return `${new Date(ms).toISOString().replace(/[-:T]/g, '').slice(2, 14)}Z`;
}

/** A CA with a server certificate for localhost/127.0.0.1 (`server.crt`) in `dir`. */
export async function makeServerPki(dir: string): Promise<{ ca: CertFiles; server: CertFiles }> {
  const ca = await makeCa(dir);
  const server = await issueCert(dir, 'server', ca, { subject: '/CN=localhost', san: 'DNS:localhost,IP:127.0.0.1' });
  return { ca, server };
}

/**
 * A server PKI in `secretDir` installed as a listener's Manual TLS secret (`tls.crt`, `tls.key`
 * there); resolves with the CA clients must trust.
 */
export async function makeServerSecret(secretDir: string): Promise<CertFiles> {
  const { ca, server } = await makeServerPki(secretDir);
  await copyFile(server.cert, join(secretDir, 'tls.crt'));
  await copyFile(server.key, join(secretDir, 'tls.key'));
  return ca;
}
