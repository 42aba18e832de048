import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReasonCode } from '../../src/protocol/reason-codes.js';
import { passwdLine } from '../../src/security/passwd.js';
import { connectClient } from '../helpers/cli-mqtt.js';
import { portOf } from '../helpers/cli-ops.js';
import { makeOpsInstance, type OpsInstance } from '../helpers/ops-instance.js';

let h: OpsInstance;
const rules = (...list: unknown[]) => ({ properties: { authorizationPolicies: { rules: list } } });
const connect = async (port: number, username: string, clientId: string): Promise<MqttClient> => {
  return h.track(await connectClient(port, { protocolVersion: 5, username, password: 'pw', clientId }));
};

beforeAll(async () => {
  h = await makeOpsInstance('z');
  await mkdir(join(h.home, 'z', 'secrets'), { recursive: true });
  await writeFile(join(h.home, 'z', 'secrets', 'passwd'), `${passwdLine('alice', 'pw')}\n${passwdLine('bob', 'pw', { team: 'ops' })}\n`);
});
afterAll(() => h.cleanup());

describe('ops broker authz on a listener port with authentication', () => {
  it('enforces the rules, and applies new rules live (same broker process)', async () => {
    const authn = { properties: { authenticationMethods: [{ method: 'Custom', customSettings: { endpoint: 'https://127.0.0.1:9/auth' } }] } };
    expect((await h.apply('authn', 'local', authn)).exitCode).toBe(0);
    const v1 = rules({ principals: { usernames: ['alice'] }, brokerResources: [{ method: 'Connect' }, { method: 'Publish', topics: ['devices/{principal.clientId}/#'] }] });
    expect((await h.apply('authz', 'rules', v1)).exitCode).toBe(0);
    const listener = { properties: { serviceType: 'LoadBalancer', ports: [{ port: 0, authenticationRef: 'local', authorizationRef: 'rules' }] } };
    expect((await h.apply('listener', 'secure', listener)).exitCode).toBe(0);
    const before = await h.status();
    const secure = portOf(before, 'secure');

    const alice = await connect(secure, 'alice', 'dev1');
    await alice.publishAsync('devices/dev1/t', 'x', { qos: 1 });
    await expect(alice.publishAsync('devices/dev2/t', 'x', { qos: 1 })).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    await expect(connect(secure, 'bob', 'b1')).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    await expect(connectClient(secure, { protocolVersion: 5, clientId: 'anon' })).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    (await connectClient(portOf(before), { clientId: 'open' })).end(true); // the default listener stays open

    const dropped = new Promise<void>((resolve) => alice.once('close', () => resolve()));
    const v2 = rules({ principals: { attributes: [{ team: 'ops' }], usernames: ['alice'] }, brokerResources: [{ method: 'Connect' }, { method: 'Publish', topics: ['shared/{principal.username}'] }] });
    expect((await h.apply('authz', 'rules', v2)).exitCode).toBe(0);
    await dropped; // AIO disconnects clients when their authorization changes
    const after = await h.status();
    expect(after.pid).toBe(before.pid);
    const bob = await connect(portOf(after, 'secure'), 'bob', 'b1');
    await bob.publishAsync('shared/bob', 'x', { qos: 1 });
    await expect(bob.publishAsync('shared/alice', 'x', { qos: 1 })).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    const alice2 = await connect(portOf(after, 'secure'), 'alice', 'dev1');
    await expect(alice2.publishAsync('devices/dev1/t', 'x', { qos: 1 })).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
  });
});
