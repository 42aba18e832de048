/**
 * `ops create`'s default deployment, as `az iot ops create`'s: listener `default` (TLS Automatic from
 * the instance CA, authentication `default`), authentication `default` (service account tokens,
 * audience `aio-internal`), and the plain listener `default-insecure` only with
 * `--add-insecure-listener` or `--port`.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, roundTrip } from '../helpers/cli-mqtt.js';
import { makeOpsHome, portOf, type OpsHome } from '../helpers/cli-ops.js';

interface Started {
  ports: Array<{ listener: string; port: number }>;
}
interface Resource {
  name: string;
  properties: Record<string, unknown>;
}

let h: OpsHome;
let secure: number;
beforeAll(async () => {
  h = await makeOpsHome();
  secure = portOf(await h.json<Started>('create', '--instance', 'aio', '--secure-port', '0', '--metrics-port', '0'), 'default');
});
afterAll(async () => {
  await h.cleanup();
});

/** Binds `port` on 127.0.0.1 (or finds it already held); the server to close, if this test holds it. */
function holdPort(port: number): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err)));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('the default deployment', () => {
  it('has listener default (TLS Automatic, authentication default) and no plain listener', async () => {
    const listeners = await h.json<Resource[]>('broker', 'listener', 'list', '--instance', 'aio');
    expect(listeners.map((l) => l.name)).toEqual(['default']);
    const listener = await h.json<Resource>('broker', 'listener', 'show', '--instance', 'aio', '--name', 'default');
    expect(listener.properties).toMatchObject({
      serviceName: 'aio-broker',
      serviceType: 'ClusterIp',
      ports: [{ port: 0, authenticationRef: 'default', tls: { mode: 'Automatic', certManagerCertificateSpec: { issuerRef: { kind: 'ClusterIssuer', group: 'cert-manager.io' } } } }],
    });
    const authn = await h.json<Resource>('broker', 'authn', 'show', '--instance', 'aio', '--name', 'default');
    expect(authn.properties['authenticationMethods']).toEqual([{ method: 'ServiceAccountToken', serviceAccountTokenSettings: { audiences: ['aio-internal'] } }]);
  });

  it('takes a client that trusts the instance CA and presents a token from ops broker token create', async () => {
    const ca = await readFile(join(h.home, 'aio', 'secrets', 'ca', 'ca.crt'));
    const token = (await h.ops('broker', 'token', 'create', '--instance', 'aio', '--audience', 'aio-internal')).stdout.trim();
    const tls = { protocol: 'mqtts', ca, servername: 'localhost' } as const;
    const sub = await connectClient(secure, { ...tls, protocolVersion: 5, username: 'K8S-SAT', password: token, clientId: 'sub' });
    const pub = await connectClient(secure, { ...tls, protocolVersion: 4, username: 'K8S-SAT', password: token, clientId: 'pub' });
    try {
      const received = new Promise<string>((resolve) => sub.on('message', (_t, m) => resolve(m.toString())));
      await sub.subscribeAsync('factory/#', { qos: 1 });
      await pub.publishAsync('factory/line1', 'over TLS', { qos: 1 });
      expect(await received).toBe('over TLS');
    } finally {
      await Promise.all([sub.endAsync(), pub.endAsync()]);
    }
    await expect(connectClient(secure, { ...tls, protocolVersion: 5, clientId: 'anonymous' })).rejects.toThrow(/Not authorized|Bad User Name or Password/i);
    await expect(connectClient(secure, { protocol: 'mqtts', servername: 'localhost', username: 'K8S-SAT', password: token })).rejects.toThrow(/certificate/i);
    await expect(connectClient(secure, {})).rejects.toThrow();
  });

  it('prints the CA and how to get a token after create', async () => {
    const r = await h.ops('create', '--instance', 'hint', '--secure-port', '0', '--metrics-port', '0');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`TLS CA: ${join(h.home, 'hint', 'secrets', 'ca', 'ca.crt')}`);
    expect(r.stdout).toContain("username K8S-SAT, password from 'ops broker token create --instance hint --audience aio-internal'");
    expect((await h.ops('delete', '--instance', 'hint', '--yes')).exitCode).toBe(0);
  });

  it('ops state works against it with no flags: the instance CA and a token of its own', async () => {
    expect((await h.ops('state', 'set', '-k', 'color', '--value', 'red', '--instance', 'aio')).exitCode).toBe(0);
    const got = await h.ops('state', 'get', '-k', 'color', '--instance', 'aio');
    expect(got.stdout).toBe('red');
    // Explicit flags mean exactly what they say: --notls speaks plain MQTT to the TLS port, and fails.
    expect((await h.ops('state', 'get', '-k', 'color', '--instance', 'aio', '--notls', '-p', String(secure))).exitCode).not.toBe(0);
  });

  it('--port N adds the plain listener default-insecure on N next to default', async () => {
    const created = await h.json<Started>('create', '--instance', 'both', '--port', '0', '--secure-port', '0', '--metrics-port', '0');
    expect(created.ports.map((p) => p.listener).sort()).toEqual(['default', 'default-insecure']);
    expect(await roundTrip(portOf(created), 'plain/topic', 'no TLS')).toBe('no TLS');
    const insecure = await h.json<Resource>('broker', 'listener', 'show', '--instance', 'both', '--name', 'default-insecure');
    expect(insecure.properties).toMatchObject({ serviceName: 'aio-broker-insecure', serviceType: 'LoadBalancer', ports: [{ port: 0 }] });
    expect(insecure.properties['ports']).toEqual([{ port: 0 }]);
    expect((await h.ops('delete', '--instance', 'both', '--yes')).exitCode).toBe(0);
  });

  it('a taken 18883 fails create with the port-in-use error naming --secure-port, and leaves no instance', async () => {
    const held = await holdPort(18883);
    try {
      const r = await h.ops('create', '--instance', 'taken', '--metrics-port', '0');
      expect(r.exitCode).toBe(3);
      expect(r.stderr).toContain("Port 18883 of listener 'default' is in use on 127.0.0.1 (another instance or program holds it). Choose another with --secure-port N (0 picks a free one).");
      expect(r.stderr).toContain('(INST_PORT_IN_USE, exit code 3)');
      expect((await h.ops('broker', 'show', '--instance', 'taken')).exitCode).toBe(4);
    } finally {
      await new Promise((resolve) => (held ? held.close(resolve) : resolve(undefined)));
    }
  });

  it.each(['--add-insecure-listener', '--mq-insecure'])('%s plans default-insecure on 1883 (checked before anything starts: a taken 1883 names --port)', async (flag) => {
    const held = await holdPort(1883);
    try {
      const r = await h.ops('create', '--instance', 'plain', flag, '--secure-port', '0', '--metrics-port', '0');
      expect(r.exitCode).toBe(3);
      expect(r.stderr).toContain("Port 1883 of listener 'default-insecure' is in use on 127.0.0.1 (another instance or program holds it). Choose another with --port N (0 picks a free one).");
    } finally {
      await new Promise((resolve) => (held ? held.close(resolve) : resolve(undefined)));
    }
  });

  it('refuses the same port for --port and --secure-port', async () => {
    const r = await h.ops('create', '--instance', 'same', '--port', '18884', '--secure-port', '18884');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--port and --secure-port are both 18884');
  });
});
