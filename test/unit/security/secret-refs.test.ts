/**
 * The authentication methods build every secret path through instance/secret-folder.ts: a stored
 * `trustedClientCaCert`, `caCertConfigMap` or `auth.x509.secretRef` that leaves the secrets folder trusts nothing and reads nothing outside it.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthnMethod } from '../../../src/security/authn/methods.js';
import { readTlsMaterial } from '../../../src/security/authn/custom-transport.js';
import { silentLogger } from '../../../src/shared/log.js';

let root: string;
let secrets: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ops-secret-refs-'));
  secrets = join(root, 'instance', 'secrets');
  await mkdir(secrets, { recursive: true });
  await mkdir(join(root, 'outside'));
  await writeFile(join(root, 'outside', 'ca.crt'), 'a CA the attacker chose');
  await writeFile(join(root, 'outside', 'tls.crt'), 'x');
  await writeFile(join(root, 'outside', 'tls.key'), 'x');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('secret references of authentication methods', () => {
  it('Custom: caCertConfigMap and auth.x509.secretRef outside secrets/ are refused before any read', async () => {
    const ca = await readTlsMaterial(secrets, '../../outside', undefined);
    expect(ca).toEqual({ problem: expect.stringContaining('caCertConfigMap "../../outside" is not a Kubernetes name') });
    const client = await readTlsMaterial(secrets, undefined, '../../outside');
    expect(client).toEqual({ problem: expect.stringContaining('auth.x509.secretRef "../../outside" is not a Kubernetes name') });
  });

  it('X509: a trustedClientCaCert outside secrets/ refuses clients with a certificate and ignores those without', async () => {
    const method = createAuthnMethod({ method: 'X509', x509Settings: { trustedClientCaCert: '../../outside' } }, { logger: silentLogger, secretsDir: secrets });
    const request = (clientCertificate?: { raw: Buffer; chain: Buffer[]; subject: Record<string, string> }) => ({
      connection: clientCertificate === undefined ? {} : { clientCertificate },
      clientId: 'c',
      username: undefined,
      password: undefined,
      protocolVersion: 5 as const,
      authenticationMethod: undefined,
      authenticationData: undefined,
    });
    expect(await method.authenticate(request())).toMatchObject({ kind: 'notRelevant' });
    const outcome = await method.authenticate(request({ raw: Buffer.from('x'), chain: [], subject: {} }));
    expect(outcome).toMatchObject({ kind: 'deny', reasonCode: 0x87 });
    expect(outcome.kind === 'deny' ? outcome.reason : '').toContain('trustedClientCaCert "../../outside" is not a Kubernetes name');
  });
});
