import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReasonCode } from '../../src/protocol/reason-codes.js';
import { connectClient } from '../helpers/cli-mqtt.js';
import { portOf } from '../helpers/cli-ops.js';
import { makeOpsInstance, type OpsInstance } from '../helpers/ops-instance.js';

interface Minted {
  token: string;
  audiences: string[];
  subject?: string;
  attributes: Record<string, string>;
  issuedAt: string;
  expiresAt: string;
  keyId: string;
  publicKeyFile: string;
}

let h: OpsInstance;
const sat = (port: number, token: string, clientId: string) =>
  connectClient(port, { protocolVersion: 5, clientId, properties: { authenticationMethod: 'K8S-SAT', authenticationData: Buffer.from(token) } });

beforeAll(async () => {
  h = await makeOpsInstance('t');
});
afterAll(() => h.cleanup());

describe('ops broker token create', () => {
  it('mints a token with the broker stopped, which a port with a SAT method then accepts', async () => {
    expect((await h.ops('broker', 'stop', '--instance', 't')).exitCode).toBe(0);
    const minted = await h.json<Minted>('broker', 'token', 'create', '--instance', 't', '--audience', 'my-aud', '--ttl', '10m', '--attribute', 'group=sensors', '--subject', 'sensor-1');
    expect(minted).toMatchObject({ audiences: ['my-aud'], subject: 'sensor-1', attributes: { group: 'sensors' } });
    expect(Date.parse(minted.expiresAt) - Date.parse(minted.issuedAt)).toBe(600_000);
    expect((await stat(join(h.home, 't', 'secrets', 'sat', 'signing-key.pem'))).mode & 0o777).toBe(0o600);
    expect(minted.publicKeyFile).toBe(join(h.home, 't', 'secrets', 'sat', 'signing-key.pub.pem'));

    expect((await h.ops('broker', 'authn', 'method', 'add', '--instance', 't', '--authn', 'sat', '--sat-aud', 'my-aud', 'aio-internal')).exitCode).toBe(0);
    expect((await h.apply('listener', 'secure', { properties: { serviceType: 'LoadBalancer', ports: [{ port: 0, authenticationRef: 'sat' }] } })).exitCode).toBe(0);
    const started = await h.json<{ ports: Array<{ listener: string; port: number }> }>('broker', 'start', '--instance', 't');
    const secure = portOf(started, 'secure');

    const client = h.track(await sat(secure, minted.token, 'c1'));
    await client.publishAsync('any/topic', 'x', { qos: 1 });

    // Minted while the broker runs, with the same key: the plain output is the bare token.
    const plain = await h.ops('broker', 'token', 'create', '--instance', 't', '--audience', 'elsewhere');
    expect(plain.exitCode).toBe(0);
    expect(plain.stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(plain.stderr).toMatch(new RegExp(`signed by key ${minted.keyId}`));
    await expect(sat(secure, plain.stdout.trim(), 'c2')).rejects.toMatchObject({ code: ReasonCode.NotAuthorized }); // wrong audience
    const bound = await h.ops('broker', 'token', 'create', '--instance', 't', '--audience', 'aio-internal', '--client-id', 'only-me');
    await expect(sat(secure, bound.stdout.trim(), 'someone-else')).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    h.track(await sat(secure, bound.stdout.trim(), 'only-me'));
  });

  it('refuses a bad flag with a clear message (more cases: test/unit/cli/token.test.ts)', async () => {
    const run = await h.ops('broker', 'token', 'create', '--instance', 't', '--audience', 'a', '--ttl', 'soon');
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/Invalid --ttl 'soon': use a duration like 90s, 15m, 1h, 7d or 1h30m/);
    expect(run.stdout).toBe('');
  });
});
