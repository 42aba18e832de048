/**
 * The trusted client CA of the X509 method: AIO's `trustedClientCaCert` names a ConfigMap whose
 * every entry is trusted, whatever its key. Here the name is the folder `<instance>/secrets/NAME/`
 * and every `.pem`, `.crt` or `.cer` file in it is read (PEM bundles of one or more certificates, or
 * one DER certificate): e.g. `secrets/client-ca/ca.crt` or `secrets/client-ca/client_ca.pem`.
 *
 * The folder is read when the method is compiled (problems are logged as warnings), then checked
 * again at each authentication with a certificate: a changed file list, size or modification time
 * makes it re-read, so a CA put in place or rotated after `authn apply` is used without reapplying.
 */
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../shared/log.js';
import { printDn } from './x509-subject.js';
import { reasonOf } from '../../shared/errors.js';

/** Files of the folder that are read. */
const CERT_FILE = /\.(pem|crt|cer)$/i;
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** What the folder holds now. */
export interface TrustedCas {
  /** Usable CA certificates (may be empty). */
  readonly certs: readonly X509Certificate[];
  /** Files or certificates skipped, and why (logged). */
  readonly problems: readonly string[];
  /** Set when no certificate can be trusted: why (the method then refuses certificate clients). */
  readonly unavailable: string | undefined;
}

interface FileBytes {
  readonly name: string;
  readonly bytes: Buffer;
}

/** Parses the certificate files of a folder (pure). */
export function parseTrustedCas(where: string, files: readonly FileBytes[]): TrustedCas {
  const certs: X509Certificate[] = [];
  const problems: string[] = [];
  for (const { name, bytes } of files) {
    const text = bytes.toString('latin1');
    const blocks = text.includes('-----BEGIN') ? (text.match(PEM_BLOCK) ?? []) : [bytes];
    if (blocks.length === 0) problems.push(`${name}: no PEM certificate (-----BEGIN CERTIFICATE-----) in the file`);
    blocks.forEach((block, i) => {
      const label = blocks.length > 1 ? `${name} (certificate ${i + 1})` : name;
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(block);
      } catch (err) {
        problems.push(`${label}: malformed certificate (${reasonOf(err)})`);
        return;
      }
      if (!cert.ca) problems.push(`${label}: '${printDn(cert)}' is not a CA certificate (basicConstraints CA:TRUE), not trusted`);
      else certs.push(cert);
    });
  }
  let unavailable: string | undefined;
  if (files.length === 0) unavailable = `no .pem, .crt or .cer file in ${where}`;
  else if (certs.length === 0) unavailable = `no usable CA certificate in ${where}`;
  return { certs, problems, unavailable };
}

/** The trusted CA folder of one X509 method, re-read when it changes. */
export class TrustedCaFolder {
  #signature = '';
  #current: TrustedCas;

  /**
   * Reads the folder now (synchronously: compiled at `authn apply`) and logs what is wrong.
   * @param ref the `trustedClientCaCert` name (for messages)
   */
  constructor(
    private readonly dir: string,
    private readonly ref: string,
    private readonly logger: Logger,
  ) {
    this.#signature = signatureSync(dir);
    this.#current = this.#parse(readSync(dir));
    this.#report();
  }

  /** The trusted CAs now (re-read if the folder changed since the last look). */
  async current(): Promise<TrustedCas> {
    const signature = await signatureAsync(this.dir);
    if (signature !== this.#signature) {
      this.#signature = signature;
      this.#current = this.#parse(await readAsync(this.dir));
      this.#report();
    }
    return this.#current;
  }

  #parse(files: readonly FileBytes[] | string): TrustedCas {
    if (typeof files === 'string') return { certs: [], problems: [], unavailable: files };
    return parseTrustedCas(this.dir, files);
  }

  #report(): void {
    const { certs, problems, unavailable } = this.#current;
    const fields = { trustedClientCaCert: this.ref, folder: this.dir };
    for (const problem of problems) this.logger.warn({ ...fields, problem }, `X509 trusted client CA '${this.ref}': ${problem}`);
    if (unavailable !== undefined) {
      this.logger.warn(fields, `X509 trusted client CA '${this.ref}' unavailable (${unavailable}): clients presenting a certificate are refused until it is fixed`);
    } else this.logger.info({ ...fields, certificates: certs.length }, `X509 trusted client CA '${this.ref}' loaded`);
  }
}

/** Why the folder could not be read. */
function unreadable(dir: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? `folder ${dir} not found (put the CA certificate there, e.g. ca.crt or client_ca.pem)` : `cannot read ${dir} (${code ?? String(err)})`;
}

function certFileNames(names: readonly string[]): string[] {
  return names.filter((n) => CERT_FILE.test(n)).sort();
}

function signatureSync(dir: string): string {
  try {
    return certFileNames(readdirSync(dir)).map((n) => stamp(n, statSync(join(dir, n)))).join('|');
  } catch {
    return 'missing';
  }
}

async function signatureAsync(dir: string): Promise<string> {
  try {
    const names = certFileNames(await readdir(dir));
    const stamps = await Promise.all(names.map(async (n) => stamp(n, await stat(join(dir, n)))));
    return stamps.join('|');
  } catch {
    return 'missing';
  }
}

const stamp = (name: string, s: { size: number; mtimeMs: number }): string => `${name}:${s.size}:${s.mtimeMs}`;

function readSync(dir: string): FileBytes[] | string {
  try {
    return certFileNames(readdirSync(dir)).map((name) => ({ name, bytes: readFileSync(join(dir, name)) }));
  } catch (err) {
    return unreadable(dir, err);
  }
}

async function readAsync(dir: string): Promise<FileBytes[] | string> {
  try {
    const names = certFileNames(await readdir(dir));
    return await Promise.all(names.map(async (name) => ({ name, bytes: await readFile(join(dir, name)) })));
  } catch (err) {
    return unreadable(dir, err);
  }
}
