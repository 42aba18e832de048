import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { instanceCaFiles } from '../../../src/instance/layout.js';
import { durationDays, ensureSelfSigned } from '../../../src/server/self-signed.js';

let secrets: string;
beforeEach(async () => {
  secrets = join(await mkdtemp(join(tmpdir(), 'ops-ca-')), 'secrets');
});
afterEach(async () => {
  await rm(join(secrets, '..'), { recursive: true, force: true });
});

const certOf = async (path: string) => new X509Certificate(await readFile(path));

describe('instance CA for Automatic TLS', () => {
  it('makes one CA (key 0600) and issues port certificates from it, reusing a current one', async () => {
    await Promise.all([ensureSelfSigned(join(secrets, 'a'), {}), ensureSelfSigned(join(secrets, 'b'), { duration: '240h' })]);
    const ca = instanceCaFiles(secrets);
    expect((await stat(ca.key)).mode & 0o777).toBe(0o600);
    expect((await stat(join(secrets, 'a', 'tls.key'))).mode & 0o777).toBe(0o600);
    const caCert = await certOf(ca.cert);
    const a = await certOf(join(secrets, 'a', 'tls.crt'));
    const b = await certOf(join(secrets, 'b', 'tls.crt'));
    expect(a.checkIssued(caCert) && b.checkIssued(caCert)).toBe(true);
    expect(a.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(Math.round((Date.parse(b.validTo) - Date.parse(b.validFrom)) / 86_400_000)).toBe(10);
    await ensureSelfSigned(join(secrets, 'a'), {});
    expect((await certOf(join(secrets, 'a', 'tls.crt'))).serialNumber).toBe(a.serialNumber); // reused
  });

  it('re-issues when the spec asks for a SAN the certificate lacks', async () => {
    await ensureSelfSigned(join(secrets, 'a'), {});
    const first = await certOf(join(secrets, 'a', 'tls.crt'));
    await ensureSelfSigned(join(secrets, 'a'), { san: { dns: ['edge.example'], ip: ['10.1.2.3', 'fd00::5'] } });
    const second = await certOf(join(secrets, 'a', 'tls.crt'));
    expect(second.serialNumber).not.toBe(first.serialNumber);
    expect(second.subjectAltName).toContain('DNS:edge.example');
    expect(second.subjectAltName).toContain('IP Address:10.1.2.3');
    await ensureSelfSigned(join(secrets, 'a'), { san: { dns: ['edge.example'], ip: ['10.1.2.3', 'fd00::5'] } });
    expect((await certOf(join(secrets, 'a', 'tls.crt'))).serialNumber).toBe(second.serialNumber);
  });

  it('reads Go durations as days', () => {
    expect(durationDays(undefined)).toBe(90);
    expect(durationDays('2160h')).toBe(90);
    expect(durationDays('30m')).toBe(1);
  });
});
