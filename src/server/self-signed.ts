/**
 * Local stand-in for cert-manager: listener ports with `tls.mode: Automatic` get a self-signed
 * certificate made with the `openssl` command, kept in the instance's secrets folder and reused.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

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

/** Ensures `dir/tls.crt` and `dir/tls.key` exist, creating a self-signed pair when missing. */
export async function ensureSelfSigned(dir: string, spec: SelfSignedSpec): Promise<void> {
  if (existsSync(join(dir, 'tls.crt')) && existsSync(join(dir, 'tls.key'))) return;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const dns = ['localhost', ...(spec.san?.dns ?? [])];
  const ips = ['127.0.0.1', '::1', ...(spec.san?.ip ?? [])];
  const san = [...new Set(dns)].map((d) => `DNS:${d}`).concat([...new Set(ips)].map((i) => `IP:${i}`)).join(',');
  await run(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-days', String(durationDays(spec.duration)),
      '-subj', `/CN=${spec.san?.dns?.[0] ?? 'localhost'}`,
      '-addext', `subjectAltName=${san}`,
      '-keyout', join(dir, 'tls.key'),
      '-out', join(dir, 'tls.crt'),
    ],
    { timeout: 15_000 },
  );
}
