import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReasonCode } from '../../src/protocol/reason-codes.js';
import { passwdLine } from '../../src/security/passwd.js';
import { issueCert, makeServerPki } from '../helpers/certs.js';
import { connectClient } from '../helpers/cli-mqtt.js';
import { portOf } from '../helpers/cli-ops.js';
import { startCustomAuthServer, type CustomAuthServer } from '../helpers/custom-auth-server.js';
import { makeOpsInstance, type OpsInstance } from '../helpers/ops-instance.js';

let h: OpsInstance;
let auth: CustomAuthServer | undefined;
const connect = async (port: number, username: string, password: string): Promise<MqttClient> => {
  return h.track(await connectClient(port, { protocolVersion: 5, username, password, clientId: `${username}-1` }));
};

beforeAll(async () => {
  h = await makeOpsInstance('c');
  const pki = await makeServerPki(join(h.home, 'pki'));
  const brokerCert = await issueCert(join(h.home, 'pki'), 'broker', pki.ca, { subject: '/CN=ops-broker' });
  const secrets = join(h.home, 'c', 'secrets');
  await mkdir(join(secrets, 'auth-ca'), { recursive: true });
  await mkdir(join(secrets, 'auth-client'), { recursive: true });
  await copyFile(pki.ca.cert, join(secrets, 'auth-ca', 'ca.crt'));
  await copyFile(brokerCert.cert, join(secrets, 'auth-client', 'tls.crt'));
  await copyFile(brokerCert.key, join(secrets, 'auth-client', 'tls.key'));
  await writeFile(join(secrets, 'passwd'), `${passwdLine('carol', 'pw')}\n`);
  auth = await startCustomAuthServer(
    pki.server,
    (request) => {
      if (request.headers['x-tenant'] !== 'contoso') return { status: 401 };
      const password = Buffer.from(String(request.body['password']), 'base64').toString();
      if (request.body['username'] === 'alice' && password === 'pw') return { status: 200, body: { attributes: { group: 'g1' } } };
      return { status: 403, body: { reason: ReasonCode.BadUserNameOrPassword, message: 'unknown user or wrong password' } };
    },
    pki.ca,
  );
});
afterAll(async () => {
  await auth?.close();
  await h.cleanup();
});

describe('ops broker authn apply with a Custom method', () => {
  it('authenticates through the HTTPS server, feeds its attributes to authorization, and falls through when it is down', async () => {
    const server = auth as CustomAuthServer;
    const authn = {
      properties: {
        authenticationMethods: [
          { method: 'Custom', customSettings: { endpoint: server.endpoint, caCertConfigMap: 'auth-ca', auth: { x509: { secretRef: 'auth-client' } }, headers: { 'x-tenant': 'contoso' } } },
        ],
      },
    };
    expect((await h.apply('authn', 'custom', authn)).exitCode).toBe(0);
    const rules = {
      properties: {
        authorizationPolicies: {
          rules: [
            { principals: { attributes: [{ group: 'g1' }] }, brokerResources: [{ method: 'Connect' }, { method: 'Publish', topics: ['groups/{principal.attributes.group}/#'] }] },
            { principals: { usernames: ['carol'] }, brokerResources: [{ method: 'Connect' }] },
          ],
        },
      },
    };
    expect((await h.apply('authz', 'rules', rules)).exitCode).toBe(0);
    expect((await h.apply('listener', 'secure', { properties: { serviceType: 'LoadBalancer', ports: [{ port: 0, authenticationRef: 'custom', authorizationRef: 'rules' }] } })).exitCode).toBe(0);
    const before = await h.status();
    const secure = portOf(before, 'secure');

    const alice = await connect(secure, 'alice', 'pw');
    await alice.publishAsync('groups/g1/t', 'x', { qos: 1 });
    await expect(alice.publishAsync('groups/g2/t', 'x', { qos: 1 })).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    await expect(connect(secure, 'alice', 'nope')).rejects.toMatchObject({ code: ReasonCode.BadUserNameOrPassword });
    const seen = server.seen.find((r) => r.body['username'] === 'alice');
    expect(seen).toMatchObject({ method: 'POST', clientCn: 'ops-broker', body: { type: 'connect', username: 'alice' } });
    expect(seen?.url.searchParams.get('api-version')).toBe('0.5.0');

    await server.close(); // unreachable now: "not relevant", nothing else accepts alice; the password file still works
    auth = undefined;
    await expect(connect(secure, 'alice', 'pw')).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    (await connect(secure, 'carol', 'pw')).end(true);
    expect((await h.status()).pid).toBe(before.pid);
  });
});
