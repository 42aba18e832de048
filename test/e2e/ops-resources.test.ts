import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { execa } from 'execa';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropTlsDefault, eventually, makeOpsHome, portOf, type OpsHome } from '../helpers/cli-ops.js';
import { connectClient } from '../helpers/cli-mqtt.js';

const fixture = (path: string) => new URL(`../../fixtures/config/${path}`, import.meta.url).pathname;

interface Status {
  pid: number;
  ports: Array<{ listener: string; port: number; host: string }>;
  skippedPorts: Array<{ listener: string; port: number; reason: string }>;
  metricsPort: number | null;
  logLevel: string;
}

let h: OpsHome;
let file: (name: string, value: unknown) => Promise<string>;
beforeAll(async () => {
  h = await makeOpsHome();
  file = async (name, value) => {
    const path = join(h.home, name);
    await writeFile(path, JSON.stringify(value));
    return path;
  };
  const config = await file('broker.json', { diagnostics: { metrics: { prometheusPort: 0 }, logs: { level: 'warn' } } });
  await h.json('create', '--instance', 'r', '--port', '0', '--secure-port', '0', '--broker-config-file', config);
  // Only the plain listener: room for the listeners these tests apply (a broker has at most 3).
  await dropTlsDefault(h, 'r');
});
afterAll(async () => {
  await h.cleanup();
});

/** A port number the system just handed out as free (the uniqueness rule needs a fixed number). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const status = () => h.json<Status>('broker', 'status', '--instance', 'r');

describe('ops broker listener', () => {
  it('opens a new port live on apply and closes it on delete; clients on untouched ports stay connected', async () => {
    const before = await status();
    const { pid } = before;
    // A client on the default listener lives through the apply and the delete of another listener.
    const bystander = await connectClient(portOf(before), { clientId: 'bystander' });
    let bystanderClosed = false;
    bystander.on('close', () => (bystanderClosed = true));
    const config = await file('extra.json', { properties: { serviceType: 'LoadBalancer', ports: [{ port: 0 }, { port: 8883, tls: { mode: 'Manual', manual: { secretRef: 's' } } }] } });
    const applied = await h.json<{ name: string; type: string }>('broker', 'listener', 'apply', '--instance', 'r', '--name', 'extra', '--config-file', config);
    expect(applied).toMatchObject({ name: 'extra', type: 'Microsoft.IoTOperations/instances/brokers/listeners' });
    const s = await status();
    expect(s.pid).toBe(pid);
    expect(s.skippedPorts).toEqual([{ listener: 'extra', port: 8883, reason: expect.stringContaining("TLS secret 's' not found: put tls.crt and tls.key in") as string }]);
    const port = portOf(s, 'extra');
    await (await connectClient(port)).endAsync();
    const list = await h.json<Array<{ name: string }>>('broker', 'listener', 'list', '--instance', 'r');
    expect(list.map((l) => l.name).sort()).toEqual(['default-insecure', 'extra']);
    expect((await h.ops('broker', 'listener', 'delete', '--instance', 'r', '--name', 'extra', '--yes')).exitCode).toBe(0);
    expect((await status()).ports.map((p) => p.listener)).toEqual(['default-insecure']);
    await expect(connectClient(port)).rejects.toThrow();
    const echoed = new Promise<string>((resolve) => bystander.once('message', (_t, m) => resolve(m.toString())));
    await bystander.subscribeAsync('bystander/t', { qos: 1 });
    await bystander.publishAsync('bystander/t', 'alive', { qos: 1 });
    expect(await echoed).toBe('alive');
    expect(bystanderClosed).toBe(false);
    await bystander.endAsync();
  });

  it('adds and removes single ports like az iot ops listener port add|remove', async () => {
    const added = await h.json<{ properties: { serviceType: string } }>('broker', 'listener', 'port', 'add', '--instance', 'r', '--listener', 'ports', '--port', '0');
    expect(added.properties.serviceType).toBe('LoadBalancer');
    const port = portOf(await status(), 'ports');
    await (await connectClient(port)).endAsync();
    const removed = await h.ops('broker', 'listener', 'port', 'remove', '--instance', 'r', '--listener', 'ports', '--port', '0', '--yes');
    expect(removed.stderr).toContain('Listener resource will be deleted as it will no longer have any ports configured.');
    expect((await h.ops('broker', 'listener', 'show', '--instance', 'r', '--name', 'ports')).exitCode).toBe(4);
    await expect(connectClient(port)).rejects.toThrow();
  });

  it('serves MQTT over WebSockets on a WebSockets port', async () => {
    await h.json('broker', 'listener', 'port', 'add', '--instance', 'r', '--listener', 'web', '--port', '0', '--protocol', 'WebSockets');
    const port = portOf(await status(), 'web');
    expect((await h.ops('broker', 'status', '--instance', 'r')).stdout).toContain(`listener web: ws://127.0.0.1:${port}/mqtt`);
    const ws = await connectClient(port, { protocol: 'ws', path: '/mqtt', protocolVersion: 5 });
    const tcp = await connectClient(portOf(await status()));
    try {
      const big = Buffer.alloc(70_000, 7);
      const got = new Promise<Buffer>((resolve) => ws.on('message', (_t, m) => resolve(m)));
      await ws.subscribeAsync('ws/#', { qos: 1 });
      await tcp.publishAsync('ws/big', big, { qos: 1 });
      expect((await got).equals(big)).toBe(true);
    } finally {
      await Promise.all([ws.endAsync(), tcp.endAsync()]);
    }
    expect((await h.ops('broker', 'listener', 'delete', '--instance', 'r', '--name', 'web', '--yes')).exitCode).toBe(0);
  });

  it('serves TLS with a Manual secret from the instance secrets folder', async () => {
    const dir = join(h.home, 'r', 'secrets', 'server-cert');
    await mkdir(dir, { recursive: true });
    await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')]);
    const config = await file('tls.json', { ports: [{ port: 0, tls: { mode: 'Manual', manual: { secretRef: 'server-cert' } } }] });
    await h.json('broker', 'listener', 'apply', '--instance', 'r', '--name', 'secure', '--config-file', config);
    const port = portOf(await status(), 'secure');
    expect((await h.ops('broker', 'status', '--instance', 'r')).stdout).toContain(`listener secure: mqtts://127.0.0.1:${port}`);
    const ca = await readFile(join(dir, 'tls.crt'));
    await (await connectClient(port, { protocol: 'mqtts', ca, servername: 'localhost' })).endAsync();
    await expect(connectClient(port, { connectTimeout: 1000 })).rejects.toThrow();
    expect((await h.ops('broker', 'listener', 'delete', '--instance', 'r', '--name', 'secure', '--yes')).exitCode).toBe(0);
  });

  it('stands in for cert-manager with a self-signed certificate for Automatic TLS', async () => {
    const config = await file('auto.json', {
      ports: [{ port: 0, tls: { mode: 'Automatic', certManagerCertificateSpec: { issuerRef: { kind: 'ClusterIssuer', name: 'x' }, duration: '48h' } } }],
    });
    await h.json('broker', 'listener', 'apply', '--instance', 'r', '--name', 'auto', '--config-file', config);
    const port = portOf(await status(), 'auto');
    const ca = await readFile(join(h.home, 'r', 'secrets', 'ca', 'ca.crt')); // the instance CA issued the port's certificate
    await (await connectClient(port, { protocol: 'mqtts', ca, servername: 'localhost' })).endAsync();
    expect((await h.ops('broker', 'listener', 'delete', '--instance', 'r', '--name', 'auto', '--yes')).exitCode).toBe(0);
  });

  it('refuses an invalid listener with every problem and a port used by another listener', async () => {
    const bad = await h.ops('broker', 'listener', 'apply', '--instance', 'r', '--name', 'bad', '--config-file', fixture('invalid/listener--bad-protocol-port.json'));
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('  - ports[0].port: must be <= 65535 (got 70000)');
    expect(bad.stderr).toContain('  - ports[0].protocol: must be one of "Mqtt", "WebSockets" (got "Tcp")');
    const fixed = await freePort();
    const a = await file('a.json', { ports: [{ port: 0 }, { port: fixed }] });
    expect((await h.ops('broker', 'listener', 'apply', '--instance', 'r', '--name', 'aaa', '--config-file', a)).exitCode).toBe(0);
    const b = await file('b.json', { ports: [{ port: fixed }] });
    const clash = await h.ops('broker', 'listener', 'apply', '--instance', 'r', '--name', 'bbb', '--config-file', b);
    expect(clash.exitCode).toBe(2);
    expect(clash.stderr).toContain(`port ${fixed} is already used by listener 'aaa'`);
    expect((await h.ops('broker', 'listener', 'show', '--instance', 'r', '--name', 'bbb')).exitCode).toBe(4);
    const any = await file('any.json', { ports: [{ port: 0 }] });
    expect((await h.ops('broker', 'listener', 'apply', '--instance', 'r', '--name', 'ccc', '--config-file', any)).exitCode).toBe(0);
    const fourth = await h.ops('broker', 'listener', 'apply', '--instance', 'r', '--name', 'ddd', '--config-file', any);
    expect(fourth.exitCode).toBe(2); // AIO: at most three listeners (default-insecure, aaa, ccc)
    expect(fourth.stderr).toContain("a broker has at most 3 listeners; 'default-insecure', 'aaa', 'ccc' exist");
    expect((await h.ops('broker', 'listener', 'apply', '--instance', 'r', '--name', 'ccc', '--config-file', any)).exitCode).toBe(0); // replacing one is fine
    expect((await h.ops('broker', 'listener', 'delete', '--instance', 'r', '--name', 'ccc', '--yes')).exitCode).toBe(0);
    expect((await h.ops('broker', 'listener', 'delete', '--instance', 'r', '--name', 'aaa', '--yes')).exitCode).toBe(0);
  });
});

describe('ops broker authn|authz', () => {
  // create deploys authentication `default` (service account tokens) and no authorization.
  it.each([
    ['authn', 'valid/authentication--three-methods.json', 'authentications', ['default']],
    ['authz', 'valid/authorization--rules.json', 'authorizations', []],
  ])('%s apply/show/list/delete', async (group, path, segment, deployed) => {
    const names = async () => (await h.json<Array<{ name: string }>>('broker', group, 'list', '--instance', 'r')).map((r) => r.name).sort();
    const applied = await h.json<{ id: string }>('broker', group, 'apply', '--instance', 'r', '--name', 'sec', '--config-file', fixture(path));
    expect(applied.id).toMatch(new RegExp(`/brokers/default/${segment}/sec$`));
    expect((await h.json<{ name: string }>('broker', group, 'show', '--instance', 'r', '--name', 'sec')).name).toBe('sec');
    expect(await names()).toEqual([...deployed, 'sec']);
    expect((await h.ops('broker', group, 'delete', '--instance', 'r', '--name', 'sec', '--yes')).exitCode).toBe(0);
    expect(await names()).toEqual(deployed);
  });

  it('refuses an invalid authentication with its path', async () => {
    const r = await h.ops('broker', 'authn', 'apply', '--instance', 'r', '--name', 'sec', '--config-file', fixture('invalid/authentication--custom-http.json'));
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('authenticationMethods[0].customSettings.endpoint: must be an https:// URL (got "http://auth")');
  });
});

describe('diagnostics', () => {
  it('changes the log level live and keeps it', async () => {
    expect((await status()).logLevel).toBe('warn');
    expect((await h.ops('broker', 'log-level', 'set', 'debug', '--instance', 'r')).exitCode).toBe(0);
    expect((await status()).logLevel).toBe('debug');
    const bad = await h.ops('broker', 'log-level', 'set', 'loud', '--instance', 'r');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("Invalid log level 'loud'");
  });

  it('serves Prometheus metrics with the same figures as stats', async () => {
    const { metricsPort, ports } = await status();
    expect(metricsPort).toBeGreaterThan(0);
    const client = await connectClient(portOf({ ports }));
    try {
      const body = await eventually(async () => {
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        return text.includes('ops_broker_clients_connected 1') ? text : '';
      });
      expect(body).toContain('# TYPE ops_broker_messages_received_total counter');
      expect(body).toContain('ops_broker_persist_policy_version 1');
    } finally {
      await client.endAsync();
    }
  });
});
