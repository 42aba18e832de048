/**
 * Names in a config are hostile: a secret reference may not leave the
 * instance's secrets folder, and a resource reference like `constructor` or `__proto__` may not find
 * an Object.prototype member. Through the real `ops` binary: `validate` and `apply` refuse with the
 * field and its location, nothing is written outside the instance, and a port whose
 * authenticationRef names no resource admits nobody.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passwdLine } from '../../src/security/passwd.js';
import { connectClient } from '../helpers/cli-mqtt.js';
import { portOf } from '../helpers/cli-ops.js';
import { makeOpsInstance, type OpsInstance } from '../helpers/ops-instance.js';

let h: OpsInstance;
const PROTOTYPE_NAMES = ['toString', 'constructor', '__proto__', 'hasOwnProperty'];

beforeAll(async () => {
  h = await makeOpsInstance('names');
  await mkdir(join(h.home, 'names', 'secrets'), { recursive: true });
  await writeFile(join(h.home, 'names', 'secrets', 'passwd'), `${passwdLine('alice', 'pw')}\n`);
  // A certificate and key outside the instance, where `../../outside` would lead from secrets/.
  await mkdir(join(h.home, 'outside'), { recursive: true });
  await writeFile(join(h.home, 'outside', 'tls.crt'), 'not read');
  await writeFile(join(h.home, 'outside', 'tls.key'), 'not read');
});
afterAll(async () => {
  await h.cleanup();
}, 60_000);

const traversalListener = {
  ports: [
    { port: 0, tls: { mode: 'Manual', manual: { secretRef: '../../outside' } } },
    { port: 0, tls: { mode: 'Automatic', certManagerCertificateSpec: { issuerRef: { kind: 'Issuer', name: 'x' }, secretName: '../../escaped' } } },
  ],
};
const traversalAuthn = {
  authenticationMethods: [
    { method: 'X509', x509Settings: { trustedClientCaCert: '../../outside' } },
    { method: 'Custom', customSettings: { endpoint: 'https://auth.local', caCertConfigMap: '/etc/ssl', auth: { x509: { secretRef: '..' } } } },
  ],
};

describe('secret references stay inside the instance', () => {
  it('validate names every traversing reference with its location', async () => {
    const listener = await h.ops('validate', '--kind', 'listener', '--config-file', await h.file('bad-listener.json', traversalListener));
    expect(listener.exitCode).toBe(2);
    expect(listener.stderr).toContain('CFG_SCHEMA_INVALID');
    expect(listener.stderr).toMatch(/ports\[0\]\.tls\.manual\.secretRef: must be a Kubernetes Secret or ConfigMap name .*\(got "\.\.\/\.\.\/outside"\)/);
    expect(listener.stderr).toMatch(/ports\[1\]\.tls\.certManagerCertificateSpec\.secretName: must be a Kubernetes Secret or ConfigMap name/);
    const authn = await h.ops('validate', '--kind', 'authentication', '--config-file', await h.file('bad-authn.json', traversalAuthn));
    expect(authn.exitCode).toBe(2);
    for (const field of [
      'authenticationMethods[0].x509Settings.trustedClientCaCert',
      'authenticationMethods[1].customSettings.caCertConfigMap',
      'authenticationMethods[1].customSettings.auth.x509.secretRef',
    ]) {
      expect(authn.stderr).toContain(`${field}: must be a Kubernetes Secret or ConfigMap name`);
    }
  });

  it('apply refuses them, stores nothing, and writes no certificate, key or CA outside the instance', async () => {
    const folders = async () => (await readdir(h.home)).filter((n) => !n.endsWith('.json')).sort();
    const before = await folders();
    const listener = await h.apply('listener', 'escape', traversalListener);
    expect(listener.exitCode).toBe(2);
    expect(listener.stderr).toContain('ports[0].tls.manual.secretRef');
    const authn = await h.apply('authn', 'escape', traversalAuthn);
    expect(authn.exitCode).toBe(2);
    expect(authn.stderr).toContain('trustedClientCaCert');
    expect((await h.ops('broker', 'listener', 'show', '--instance', 'names', '--name', 'escape')).exitCode).toBe(4);
    expect(await folders()).toEqual(before);
    expect(existsSync(join(h.home, 'escaped'))).toBe(false);
    expect(existsSync(join(h.home, 'ca'))).toBe(false);
    expect((await readdir(join(h.home, 'outside'))).sort()).toEqual(['tls.crt', 'tls.key']);
  });

  it('a dotted Kubernetes name is a plain folder of secrets/', async () => {
    const r = await h.apply('listener', 'dotted', { ports: [{ port: 0, tls: { mode: 'Automatic', certManagerCertificateSpec: { issuerRef: { kind: 'Issuer', name: 'x' }, secretName: 'broker.tls' } } }] });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(join(h.home, 'names', 'secrets', 'broker.tls', 'tls.crt'))).toBe(true);
    expect((await h.ops('broker', 'listener', 'delete', '--instance', 'names', '--name', 'dotted', '--yes')).exitCode).toBe(0);
  });
});

describe('resource references named like Object.prototype members', () => {
  it('refuses toString, __proto__ and hasOwnProperty as references and as resource names', async () => {
    const names = PROTOTYPE_NAMES.filter((n) => n !== 'constructor');
    const ports = names.map((name) => ({ port: 0, authenticationRef: name, authorizationRef: name }));
    const r = await h.apply('listener', 'proto', { ports });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain('CFG_SCHEMA_INVALID');
    names.forEach((name, i) => {
      for (const ref of ['authenticationRef', 'authorizationRef']) expect(r.stderr).toContain(`ports[${i}].${ref}: must be a resource name (3-63 lowercase letters, digits or '-', starting and ending with a letter or digit) (got "${name}")`);
    });
    const sat = await h.file('sat.json', { authenticationMethods: [{ method: 'ServiceAccountToken', serviceAccountTokenSettings: { audiences: ['a'] } }] });
    for (const name of names) {
      const named = await h.ops('broker', 'authn', 'apply', '--instance', 'names', '--name', name, '--config-file', sat);
      expect(named.exitCode).toBe(2);
      expect(named.stderr).toContain('CFG_FLAG_INVALID');
    }
  });

  it("an authenticationRef 'constructor' that names no resource admits nobody; once a resource has that name, it is used", async () => {
    const applied = await h.apply('listener', 'ctor', { ports: [{ port: 0, authenticationRef: 'constructor', authorizationRef: 'constructor' }] });
    expect(applied.exitCode, applied.stderr).toBe(0);
    const port = portOf(await h.status(), 'ctor');
    await expect(connectClient(port, { username: 'alice', password: 'pw', protocolVersion: 5 })).rejects.toThrow(/Not authorized/i);

    const authn = await h.apply('authn', 'constructor', { authenticationMethods: [{ method: 'ServiceAccountToken', serviceAccountTokenSettings: { audiences: ['a'] } }] });
    expect(authn.exitCode, authn.stderr).toBe(0);
    const authz = await h.apply('authz', 'constructor', { authorizationPolicies: { rules: [{ principals: { usernames: ['alice'] }, brokerResources: [{ method: 'Connect' }] }] } });
    expect(authz.exitCode, authz.stderr).toBe(0);
    const client = h.track(await connectClient(port, { username: 'alice', password: 'pw', protocolVersion: 5 }));
    expect(client.connected).toBe(true);
    await client.endAsync();
  });
});
