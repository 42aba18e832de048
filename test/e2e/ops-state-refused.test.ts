import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passwdLine } from '../../src/security/passwd.js';
import { portOf } from '../helpers/cli-ops.js';
import { makeOpsInstance, type OpsInstance } from '../helpers/ops-instance.js';

/** `ops state` on a port whose authorization refuses its reply subscription: a clear error and a bounded exit. */
let h: OpsInstance;
beforeAll(async () => {
  h = await makeOpsInstance('sref');
  await mkdir(join(h.home, 'sref', 'secrets'), { recursive: true });
  await writeFile(join(h.home, 'sref', 'secrets', 'passwd'), `${passwdLine('alice', 'pw')}\n`);
});
afterAll(() => h.cleanup());

describe('ops state on a port that refuses its subscriptions', () => {
  it('names the refused topic (SST_SUBSCRIBE_REFUSED, exit 3) and exits instead of hanging', async () => {
    const authn = { properties: { authenticationMethods: [{ method: 'Custom', customSettings: { endpoint: 'https://127.0.0.1:9/auth' } }] } };
    expect((await h.apply('authn', 'local', authn)).exitCode).toBe(0);
    // alice may connect and publish requests, but subscribe nowhere: not even her reply topic.
    const rules = { properties: { authorizationPolicies: { rules: [{ principals: { usernames: ['alice'] }, brokerResources: [{ method: 'Connect' }, { method: 'Publish', topics: ['#'] }] }] } } };
    expect((await h.apply('authz', 'closed', rules)).exitCode).toBe(0);
    const listener = { properties: { serviceType: 'LoadBalancer', ports: [{ port: 0, authenticationRef: 'local', authorizationRef: 'closed' }] } };
    expect((await h.apply('listener', 'closed', listener)).exitCode).toBe(0);
    const port = portOf(await h.status(), 'closed');

    const started = Date.now();
    const r = await h.ops('state', 'get', '-k', 'color', '-p', String(port), '-u', 'alice', '--password', 'pw', '--instance', h.instance);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/refused this client's subscription to clients\/ops-state-[0-9a-f]+\/services\/statestore\/v1\/.*\/response \(.*Not authorized.*\)/);
    expect(r.stderr).toContain('(SST_SUBSCRIBE_REFUSED, exit code 3)');
    expect(r.stderr).not.toContain('CLI_INTERNAL');
    expect(Date.now() - started).toBeLessThan(25_000); // the runner's own timeout is 30 s: a hang would hit it
  });
});
