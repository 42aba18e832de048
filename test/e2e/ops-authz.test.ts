import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReasonCode } from '../../src/protocol/reason-codes.js';
import { passwdLine } from '../../src/security/passwd.js';
import { connectClient } from '../helpers/cli-mqtt.js';
import { makeOpsHome, portOf, type OpsHome } from '../helpers/cli-ops.js';

interface Status {
  pid: number;
  ports: Array<{ listener: string; port: number }>;
}

let h: OpsHome;
const clients: MqttClient[] = [];
const file = async (name: string, value: unknown): Promise<string> => {
  const path = join(h.home, name);
  await writeFile(path, JSON.stringify(value));
  return path;
};
const status = () => h.json<Status>('broker', 'status', '--instance', 'z');
const rules = (...list: unknown[]) => ({ properties: { authorizationPolicies: { rules: list } } });
const connect = async (port: number, username: string, clientId: string): Promise<MqttClient> => {
  const client = await connectClient(port, { protocolVersion: 5, username, password: 'pw', clientId });
  clients.push(client);
  return client;
};

beforeAll(async () => {
  h = await makeOpsHome();
  const config = await file('broker.json', { diagnostics: { metrics: { prometheusPort: 0 }, logs: { level: 'warn' } } });
  await h.json('create', '--instance', 'z', '--port', '0', '--broker-config-file', config);
  await mkdir(join(h.home, 'z', 'secrets'), { recursive: true });
  await writeFile(join(h.home, 'z', 'secrets', 'passwd'), `${passwdLine('alice', 'pw')}\n${passwdLine('bob', 'pw', { team: 'ops' })}\n`);
});
afterAll(async () => {
  for (const c of clients) c.end(true);
  await h.cleanup();
});

describe('ops broker authz on a listener port with authentication', () => {
  it('enforces the rules, and applies new rules live (same broker process)', async () => {
    const authn = await file('authn.json', { properties: { authenticationMethods: [{ method: 'Custom', customSettings: { endpoint: 'https://127.0.0.1:9/auth' } }] } });
    expect((await h.ops('broker', 'authn', 'apply', '--instance', 'z', '--name', 'local', '--config-file', authn)).exitCode).toBe(0);
    const v1 = await file('authz1.json', rules({ principals: { usernames: ['alice'] }, brokerResources: [{ method: 'Connect' }, { method: 'Publish', topics: ['devices/{principal.clientId}/#'] }] }));
    expect((await h.ops('broker', 'authz', 'apply', '--instance', 'z', '--name', 'rules', '--config-file', v1)).exitCode).toBe(0);
    const listener = await file('listener.json', { properties: { serviceType: 'LoadBalancer', ports: [{ port: 0, authenticationRef: 'local', authorizationRef: 'rules' }] } });
    expect((await h.ops('broker', 'listener', 'apply', '--instance', 'z', '--name', 'secure', '--config-file', listener)).exitCode).toBe(0);
    const before = await status();
    const secure = portOf(before, 'secure');

    const alice = await connect(secure, 'alice', 'dev1');
    await alice.publishAsync('devices/dev1/t', 'x', { qos: 1 });
    await expect(alice.publishAsync('devices/dev2/t', 'x', { qos: 1 })).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    await expect(connect(secure, 'bob', 'b1')).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    await expect(connectClient(secure, { protocolVersion: 5, clientId: 'anon' })).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    (await connectClient(portOf(before), { clientId: 'open' })).end(true); // the default listener stays open

    const dropped = new Promise<void>((resolve) => alice.once('close', () => resolve()));
    const v2 = await file('authz2.json', rules({ principals: { attributes: [{ team: 'ops' }], usernames: ['alice'] }, brokerResources: [{ method: 'Connect' }, { method: 'Publish', topics: ['shared/{principal.username}'] }] }));
    expect((await h.ops('broker', 'authz', 'apply', '--instance', 'z', '--name', 'rules', '--config-file', v2)).exitCode).toBe(0);
    await dropped; // AIO disconnects clients when their authorization changes
    const after = await status();
    expect(after.pid).toBe(before.pid);
    const bob = await connect(portOf(after, 'secure'), 'bob', 'b1');
    await bob.publishAsync('shared/bob', 'x', { qos: 1 });
    await expect(bob.publishAsync('shared/alice', 'x', { qos: 1 })).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    const alice2 = await connect(portOf(after, 'secure'), 'alice', 'dev1');
    await expect(alice2.publishAsync('devices/dev1/t', 'x', { qos: 1 })).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
  });
});
