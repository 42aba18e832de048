/**
 * X509 client certificates through the real `ops` CLI: `ops broker authn|authz|listener apply`
 * on a running broker, then real MQTT.js clients over mqtts presenting certificates.
 */
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IClientOptions } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReasonCode } from '../../src/protocol/reason-codes.js';
import { issueCert, makeCa, makeServerSecret, type CertFiles } from '../helpers/certs.js';
import { connectClient } from '../helpers/cli-mqtt.js';
import { eventually, portOf } from '../helpers/cli-ops.js';
import { makeOpsInstance, type OpsInstance } from '../helpers/ops-instance.js';

let h: OpsInstance;
let serverCa: CertFiles;
let fan: CertFiles;
let rogue: CertFiles;
let clientCa: CertFiles;
const apply = async (kind: 'authn' | 'authz' | 'listener', name: string, value: unknown): Promise<void> => {
  const run = await h.apply(kind, name, value);
  expect(run.stderr).toBe('');
  expect(run.exitCode).toBe(0);
};
const tlsOptions = (cert: CertFiles | undefined): IClientOptions => ({
  protocol: 'mqtts',
  ca: serverCa.certPem,
  protocolVersion: 5,
  ...(cert !== undefined ? { cert: cert.certPem, key: cert.keyPem } : {}),
});

beforeAll(async () => {
  h = await makeOpsInstance('x', 'info');
  const secrets = join(h.home, 'x', 'secrets');
  serverCa = await makeServerSecret(join(secrets, 'srv'));
  const pki = join(h.home, 'pki');
  clientCa = await makeCa(pki, 'fabrikam', '/CN=Fabrikam Root CA/O=Fabrikam');
  fan = await issueCert(pki, 'fan', clientCa, { subject: '/CN=smart-fan' });
  rogue = await issueCert(pki, 'rogue', await makeCa(pki, 'other'), { subject: '/CN=smart-fan' });
});
afterAll(() => h.cleanup());

describe('ops broker authn with an X509 method on a TLS listener port', () => {
  it('authenticates client certificates live: CN as username, subject attributes, refusals with 0x87', async () => {
    await apply('authn', 'certs', {
      properties: {
        authenticationMethods: [
          { method: 'X509', x509Settings: { authorizationAttributes: { fabrikam: { subject: 'O = Fabrikam, CN = Fabrikam Root CA', attributes: { maker: 'fabrikam' } } } } },
        ],
      },
    });
    await apply('authz', 'rules', {
      properties: {
        authorizationPolicies: {
          rules: [
            { principals: { attributes: [{ maker: 'fabrikam' }] }, brokerResources: [{ method: 'Connect' }, { method: 'Publish', topics: ['makers/{principal.attributes.maker}/#'] }] },
            { principals: { usernames: ['smart-fan'] }, brokerResources: [{ method: 'Publish', topics: ['devices/{principal.username}/#'] }] },
          ],
        },
      },
    });
    await apply('listener', 'tls', { properties: { ports: [{ port: 0, tls: { mode: 'Manual', manual: { secretRef: 'srv' } }, authenticationRef: 'certs', authorizationRef: 'rules' }] } });
    const port = portOf(await h.status(), 'tls');

    // the default client-ca folder is empty: certificate clients are refused, and the log says why
    await expect(connectClient(port, { ...tlsOptions(fan), clientId: 'early' })).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    const log = join(h.home, 'x', 'broker.log');
    expect(await eventually(async () => (await readFile(log, 'utf8')).includes("X509 trusted client CA 'client-ca' unavailable"))).toBe(true);

    await mkdir(join(h.home, 'x', 'secrets', 'client-ca'), { recursive: true });
    await copyFile(clientCa.cert, join(h.home, 'x', 'secrets', 'client-ca', 'ca.crt'));
    const device = h.track(await connectClient(port, { ...tlsOptions(fan), clientId: 'fan-1' }));
    await device.publishAsync('devices/smart-fan/speed', '3', { qos: 1 });
    await device.publishAsync('makers/fabrikam/news', 'x', { qos: 1 });
    await expect(device.publishAsync('devices/other/speed', '3', { qos: 1 })).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });

    await expect(connectClient(port, { ...tlsOptions(rogue), clientId: 'rogue' })).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    await expect(connectClient(port, { ...tlsOptions(undefined), clientId: 'anon' })).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    expect(await eventually(async () => (await readFile(log, 'utf8')).includes('does not chain to a trusted CA'))).toBe(true);
  });
});
