import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../../src/security/authn/x509-chain.js';
import { commonNameOf, dnOf, parseDn, sameDn } from '../../../src/security/authn/x509-subject.js';
import { parseTrustedCas } from '../../../src/security/authn/x509-trust.js';
import { issueCert, makeCa, type CertFiles } from '../../helpers/certs.js';

describe('X509 subjects', () => {
  it('parses OpenSSL-style names in any order, spacing and attribute case', () => {
    const a = parseDn('CN = Contoso Root CA Cert, OU = Engineering, C = US');
    expect(a).toEqual(['C=US', 'CN=Contoso Root CA Cert', 'OU=Engineering']);
    expect(sameDn(a!, parseDn('c=US,ou=Engineering,  cn=Contoso Root CA Cert')!)).toBe(true);
    expect(sameDn(a!, parseDn('commonName = Contoso Root CA Cert, organizationalUnitName = Engineering, countryName = US')!)).toBe(true);
    expect(sameDn(a!, parseDn('CN = Contoso Root CA Cert, OU = Engineering')!)).toBe(false); // all pairs must match
    expect(sameDn(parseDn('CN = x')!, parseDn('CN = X')!)).toBe(false); // values are exact
  });

  it('keeps commas of quoted or escaped values, and rejects parts without =', () => {
    expect(parseDn('O = "Fabrikam, Inc", CN = fan')).toEqual(['CN=fan', 'O=Fabrikam, Inc']);
    expect(parseDn('O = Fabrikam\\, Inc, CN = fan')).toEqual(['CN=fan', 'O=Fabrikam, Inc']);
    expect(parseDn('smart-fan')).toBeUndefined();
    expect(parseDn('  ')).toBeUndefined();
  });
});

describe('X509 trusted CA files', () => {
  it('reports a file without certificates, a malformed block, and an empty folder', () => {
    const bad = parseTrustedCas('/s/client-ca', [
      { name: 'a.pem', bytes: Buffer.from('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n') },
      { name: 'b.crt', bytes: Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n') },
      { name: 'c.cer', bytes: Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]) },
    ]);
    expect(bad.certs).toEqual([]);
    expect(bad.problems).toEqual([
      'a.pem: no PEM certificate (-----BEGIN CERTIFICATE-----) in the file',
      expect.stringMatching(/^b\.crt: malformed certificate/),
      expect.stringMatching(/^c\.cer: malformed certificate/),
    ]);
    expect(bad.unavailable).toBe('no usable CA certificate in /s/client-ca');
    expect(parseTrustedCas('/s/client-ca', []).unavailable).toBe('no .pem, .crt or .cer file in /s/client-ca');
  });
});

describe('X509 chain verification', () => {
  let dir: string;
  let root: CertFiles;
  let fakeIssuer: CertFiles;
  const x = (c: CertFiles): X509Certificate => new X509Certificate(c.certPem);
  const certs: Record<string, CertFiles> = {};
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'x509u-'));
    root = await makeCa(dir, 'root', '/CN=Root/O=Contoso');
    const intermediate = await issueCert(dir, 'int', root, { subject: '/CN=Intermediate', ca: true });
    fakeIssuer = await issueCert(dir, 'notca', root, { subject: '/CN=Not a CA' });
    certs['int'] = intermediate;
    certs['leaf'] = await issueCert(dir, 'leaf', intermediate, { subject: '/CN=dev/O=Contoso' });
    certs['underNonCa'] = await issueCert(dir, 'under', fakeIssuer, { subject: '/CN=sneaky' });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('builds leaf -> intermediate -> trusted root, or stops at a trusted intermediate', () => {
    const leaf = x(certs['leaf']!);
    const full = verifyChain([leaf, x(certs['int']!)], [x(root)], Date.now());
    expect(full.ok && full.path.map((c) => commonNameOf(c))).toEqual(['dev', 'Intermediate', 'Root']);
    const partial = verifyChain([leaf], [x(certs['int']!)], Date.now());
    expect(partial.ok && partial.path.length).toBe(2);
    expect(dnOf(leaf)).toEqual(['CN=dev', 'O=Contoso']);
  });

  it('refuses an issuer that is not a CA, and a chain checked after it expired', () => {
    const sneaky = verifyChain([x(certs['underNonCa']!), x(fakeIssuer)], [x(root)], Date.now());
    expect(sneaky).toEqual({ ok: false, reason: "client certificate 'CN=sneaky' does not chain to a trusted CA (no trusted issuer for 'CN=sneaky')" });
    const later = verifyChain([x(certs['leaf']!), x(certs['int']!)], [x(root)], Date.now() + 30 * 86_400_000);
    expect(later.ok ? '' : later.reason).toMatch(/^client certificate 'CN=dev, O=Contoso' expired on /);
    const before = verifyChain([x(certs['leaf']!)], [x(certs['int']!)], Date.now() - 2 * 86_400_000);
    expect(before.ok ? '' : before.reason).toMatch(/is not valid before/);
  });
});
