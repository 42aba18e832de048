/**
 * The HTTPS client of one `Custom` method: TLS material from the instance's `secrets/` folder
 * (read at each request, so a renewed certificate is used without re-applying), one keep-alive
 * agent per distinct material, and a POST bounded by a timeout and an answer size limit.
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { Agent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { secretFolder } from '../../instance/secret-folder.js';
import { sanitise } from './custom-response.js';
import { reasonOf } from '../../shared/errors.js';

/** Largest answer read from the server. */
export const MAX_ANSWER_BYTES = 64 * 1024;
/** Most simultaneous connections to the server (further requests queue, within their timeout). */
const MAX_SOCKETS = 100;

/** The CA and client certificate the broker uses towards the server. */
export interface TlsMaterial {
  /** Trusted CA(s) for the server certificate; undefined: the system's trust store. */
  readonly ca: Buffer | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
}

/** Result of one POST: the status and body, or why there is none. */
export type PostResult = { readonly status: number; readonly body: Buffer } | { readonly error: string };

const readOptional = (path: string): Promise<Buffer | undefined> => readFile(path).catch(() => undefined);

/** The CA bundle of `secrets/NAME/`: every `.crt`/`.pem` file of the folder (AIO trusts every key of the ConfigMap). */
async function readCa(folder: string): Promise<Buffer | undefined> {
  const names = (await readdir(folder).catch(() => [] as string[])).filter((n) => n.endsWith('.crt') || n.endsWith('.pem')).sort();
  const parts = (await Promise.all(names.map((n) => readOptional(join(folder, n))))).filter((b): b is Buffer => b !== undefined && b.length > 0);
  return parts.length === 0 ? undefined : Buffer.concat(parts.flatMap((p) => [p, Buffer.from('\n')]));
}

/** The folder `secrets/NAME/` of a reference, or why the name may not be one (defence in depth behind the schema). */
function folderOf(secretsDir: string, name: string, field: string): string | { problem: string } {
  try {
    return secretFolder(secretsDir, name, field);
  } catch (err) {
    return { problem: reasonOf(err) };
  }
}

/** Reads the TLS material named by the settings, or says which file is missing. */
export async function readTlsMaterial(secretsDir: string, caRef: string | undefined, clientCertRef: string | undefined): Promise<TlsMaterial | { problem: string }> {
  let ca: Buffer | undefined;
  if (caRef !== undefined) {
    const folder = folderOf(secretsDir, caRef, 'caCertConfigMap');
    if (typeof folder !== 'string') return folder;
    ca = await readCa(folder);
    if (ca === undefined) return { problem: `caCertConfigMap '${caRef}' has no CA certificate (no .crt or .pem file in ${folder})` };
  }
  let cert: Buffer | undefined;
  let key: Buffer | undefined;
  if (clientCertRef !== undefined) {
    const folder = folderOf(secretsDir, clientCertRef, 'auth.x509.secretRef');
    if (typeof folder !== 'string') return folder;
    [cert, key] = await Promise.all([readOptional(join(folder, 'tls.crt')), readOptional(join(folder, 'tls.key'))]);
    if (cert === undefined || key === undefined) return { problem: `auth.x509.secretRef '${clientCertRef}' needs ${join(folder, 'tls.crt')} and ${join(folder, 'tls.key')}` };
  }
  return { ca, cert, key };
}

/** Node's codes for a server certificate that fails verification. */
const SERVER_CERT_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'CERT_SIGNATURE_FAILURE',
  'INVALID_CA', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Human text for a request error (codes and messages of Node carry no secrets). */
export function describeError(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = sanitise(typeof e.message === 'string' ? e.message : String(error));
  if (code === 'ECONNREFUSED') return `connection refused (${message})`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `host not found (${message})`;
  if (code.startsWith('ERR_SSL_')) {
    const hint = code.includes('CERTIFICATE_REQUIRED') ? 'the server requires a client certificate (auth.x509.secretRef)' : 'the server refused the TLS handshake';
    return `${hint}: ${code}`;
  }
  if (SERVER_CERT_CODES.has(code)) return `the server's certificate is not trusted: ${code} (${message})`;
  return code === '' ? message : `${code} (${message})`;
}

/** Why TLS material cannot be used (checked once per distinct material), or undefined. */
export function checkTlsMaterial(material: TlsMaterial, caRef: string | undefined, clientCertRef: string | undefined): string | undefined {
  const blocks = (pem: Buffer): string[] => pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const parses = (block: string): boolean => {
    try {
      new X509Certificate(block);
      return true;
    } catch {
      return false;
    }
  };
  if (material.ca !== undefined) {
    const found = blocks(material.ca);
    if (found.length === 0 || !found.every(parses)) return `caCertConfigMap '${caRef}' holds a malformed PEM certificate`;
  }
  if (material.cert !== undefined && material.key !== undefined) {
    const found = blocks(material.cert);
    if (found.length === 0 || !found.every(parses)) return `auth.x509.secretRef '${clientCertRef}': tls.crt is not a PEM certificate`;
    try {
      const key = createPrivateKey(material.key);
      if (!new X509Certificate(found[0] as string).checkPrivateKey(key)) return `auth.x509.secretRef '${clientCertRef}': tls.key does not belong to tls.crt`;
    } catch {
      return `auth.x509.secretRef '${clientCertRef}': tls.key is not a PEM private key`;
    }
  }
  return undefined;
}

/** Keep-alive HTTPS agents keyed by their TLS material. */
export class CustomTransport {
  #agent: Agent | undefined;
  #problem: string | undefined;
  #fingerprint = '';

  constructor(
    private readonly caRef: string | undefined,
    private readonly clientCertRef: string | undefined,
  ) {}

  /** The agent for `material` (a new one when the material changed), or why the material is unusable. */
  agentFor(material: TlsMaterial): Agent | { problem: string } {
    const hash = createHash('sha256');
    for (const part of [material.ca, material.cert, material.key]) hash.update(part === undefined ? '-' : `${part.length}:`).update(part ?? '');
    const fingerprint = hash.digest('hex');
    if (this.#fingerprint !== fingerprint) {
      // The previous agent is left to finish its requests; its idle sockets close with the server's keep-alive timeout.
      this.#problem = checkTlsMaterial(material, this.caRef, this.clientCertRef);
      this.#agent = this.#problem !== undefined ? undefined : new Agent({ keepAlive: true, maxSockets: MAX_SOCKETS, maxFreeSockets: 10, ca: material.ca, cert: material.cert, key: material.key });
      this.#fingerprint = fingerprint;
    }
    return this.#agent ?? { problem: this.#problem ?? 'unusable TLS material' };
  }

  /** POSTs `body` as JSON; settles within `timeoutMs` whatever the server does. */
  post(url: URL, headers: Readonly<Record<string, string>>, body: string, material: TlsMaterial, timeoutMs: number): Promise<PostResult> {
    const deadline = Date.now() + timeoutMs;
    const attempt = (retry: boolean): Promise<PostResult> =>
      this.#postOnce(url, headers, body, material, Math.max(1, deadline - Date.now()), timeoutMs).then((result) => {
        // A kept-alive socket the server closed meanwhile fails at once: try once on a fresh one.
        if (retry && 'error' in result && result.error.startsWith('stale socket') && Date.now() < deadline) return attempt(false);
        return result;
      });
    return attempt(true);
  }

  #postOnce(url: URL, headers: Readonly<Record<string, string>>, body: string, material: TlsMaterial, remainingMs: number, timeoutMs: number): Promise<PostResult> {
    return new Promise((resolve) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const payload = Buffer.from(body, 'utf8');
      const finish = (result: PostResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const agent = this.agentFor(material);
      if ('problem' in agent) {
        finish({ error: agent.problem });
        return;
      }
      let req: ReturnType<typeof httpsRequest>;
      try {
        req = httpsRequest(url, {
          method: 'POST',
          agent,
          headers: { ...headers, 'content-type': 'application/json', 'content-length': payload.length, accept: 'application/json' },
        });
      } catch (error) {
        finish({ error: `the request could not be made: ${describeError(error)}` });
        return;
      }
      timer = setTimeout(() => {
        finish({ error: `no answer within ${timeoutMs} ms` });
        req.destroy();
      }, remainingMs);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) {
            finish({ error: `the answer is larger than ${MAX_ANSWER_BYTES} bytes` });
            req.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => finish({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', (error) => finish({ error: describeError(error) }));
        res.on('close', () => {
          if (!res.complete) finish({ error: 'the server closed the connection mid-answer' });
        });
      });
      req.on('error', (error) => {
        const code = (error as { code?: unknown }).code;
        finish({ error: req.reusedSocket && code === 'ECONNRESET' ? `stale socket: ${describeError(error)}` : describeError(error) });
      });
      req.end(payload);
    });
  }
}
