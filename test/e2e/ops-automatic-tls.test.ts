import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, roundTrip } from '../helpers/cli-mqtt.js';
import { dropTlsDefault, makeOpsHome, portOf, type OpsHome } from '../helpers/cli-ops.js';

interface ListenerShow {
  name: string;
  properties: Record<string, unknown>;
  automaticTls?: { caCertificate: string; caCertificateExists: boolean; ports: { port: number; secret: string; certificate: string }[] };
}

let h: OpsHome;
const status = () => h.json<{ ports: { listener: string; port: number }[] }>('broker', 'status', '--instance', 'tls');
const file = async (name: string, value: unknown): Promise<string> => {
  const path = join(h.home, name);
  await writeFile(path, JSON.stringify(value));
  return path;
};

beforeAll(async () => {
  h = await makeOpsHome();
  const config = await file('broker.json', { diagnostics: { metrics: { prometheusPort: 0 } } });
  await h.json('create', '--instance', 'tls', '--port', '0', '--secure-port', '0', '--broker-config-file', config);
  // Only the plain listener: room for the Automatic TLS listeners these tests apply (a broker has at most 3).
  await dropTlsDefault(h, 'tls');
});
afterAll(async () => {
  await h.cleanup();
});

const automatic = (secretName?: string) => ({
  port: 0,
  tls: {
    mode: 'Automatic',
    certManagerCertificateSpec: { issuerRef: { kind: 'ClusterIssuer', name: 'x' }, san: { dns: ['broker.factory.local'], ip: ['127.0.0.1'] }, ...(secretName ? { secretName } : {}) },
  },
});

describe('Automatic TLS with the instance CA', () => {
  it('issues the port certificate from the instance CA; a client trusting only the CA file connects; show prints where it is', async () => {
    const config = await file('auto.json', { ports: [automatic()] });
    await h.json('broker', 'listener', 'apply', '--instance', 'tls', '--name', 'secure', '--config-file', config);
    const shown = await h.json<ListenerShow>('broker', 'listener', 'show', '--instance', 'tls', '--name', 'secure');
    const caPath = join(h.home, 'tls', 'secrets', 'ca', 'ca.crt');
    expect(shown.automaticTls).toEqual({
      caCertificate: caPath,
      caCertificateExists: true,
      ports: [{ port: 0, secret: 'auto-secure-0', certificate: join(h.home, 'tls', 'secrets', 'auto-secure-0', 'tls.crt') }],
    });
    expect(shown.properties).not.toHaveProperty('automaticTls'); // the AIO resource is unchanged
    expect(existsSync(caPath)).toBe(true);
    expect((await stat(join(h.home, 'tls', 'secrets', 'ca', 'ca.key'))).mode & 0o777).toBe(0o600);

    const ca = new X509Certificate(await readFile(caPath));
    expect(ca.ca).toBe(true);
    const leaf = new X509Certificate(await readFile(shown.automaticTls!.ports[0]!.certificate));
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.subjectAltName).toContain('DNS:broker.factory.local');
    expect(leaf.subjectAltName).toContain('IP Address:127.0.0.1');

    const port = portOf(await status(), 'secure');
    const caPem = await readFile(caPath);
    // Trusting only the CA (certificate verification on, as by default), by IP and by the spec's DNS name.
    const client = await connectClient(port, { protocol: 'mqtts', ca: caPem, rejectUnauthorized: true });
    await client.endAsync();
    const named = await connectClient(port, { protocol: 'mqtts', host: '127.0.0.1', ca: caPem, servername: 'broker.factory.local' });
    await named.endAsync();
    // Without the CA the certificate is not trusted.
    await expect(connectClient(port, { protocol: 'mqtts', rejectUnauthorized: true })).rejects.toThrow(/certificate/i);
    await expect(roundTrip(portOf(await status()), 'plain/still', 'works')).resolves.toBe('works');
  });

  it('uses the same CA for every Automatic port, and the table output names the CA file', async () => {
    const caPath = join(h.home, 'tls', 'secrets', 'ca', 'ca.crt');
    const before = await readFile(caPath);
    const config = await file('auto2.json', { ports: [automatic('my-cert')] });
    await h.json('broker', 'listener', 'apply', '--instance', 'tls', '--name', 'second', '--config-file', config);
    expect((await readFile(caPath)).equals(before)).toBe(true);
    const leaf = new X509Certificate(await readFile(join(h.home, 'tls', 'secrets', 'my-cert', 'tls.crt')));
    expect(leaf.checkIssued(new X509Certificate(before))).toBe(true);
    const client = await connectClient(portOf(await status(), 'second'), { protocol: 'mqtts', ca: before });
    await client.endAsync();
    const table = await h.ops('broker', 'listener', 'show', '--instance', 'tls', '--name', 'second', '-o', 'table');
    expect(table.exitCode).toBe(0);
    expect(table.stderr).toContain(`CA certificate of Automatic TLS ports (trust it in clients): ${caPath}`);
    const plain = await h.json<ListenerShow>('broker', 'listener', 'show', '--instance', 'tls', '--name', 'default-insecure');
    expect(plain.automaticTls).toBeUndefined();
  });
});
