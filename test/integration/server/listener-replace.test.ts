/**
 * Re-applying a listener port with settings that need a new server (another TLS secret) replaces
 * the port's server without losing the port: the old one is closed first, its clients are
 * disconnected, and new clients get the new certificate.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ListenerProperties } from '../../../src/config/types.js';
import { ListenerManager } from '../../../src/server/listeners.js';
import { silentLogger } from '../../../src/shared/log.js';
import { makeServerSecret, type CertFiles } from '../../helpers/certs.js';

let root: string;
let secrets: string;
let listeners: ListenerManager;
let caA: CertFiles;
let caB: CertFiles;
const open: TLSSocket[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'ops-listener-replace-'));
  secrets = join(root, 'secrets');
  await mkdir(join(secrets, 'cert-a'), { recursive: true });
  await mkdir(join(secrets, 'cert-b'), { recursive: true });
  caA = await makeServerSecret(join(secrets, 'cert-a'));
  caB = await makeServerSecret(join(secrets, 'cert-b'));
  listeners = new ListenerManager('127.0.0.1', () => undefined, silentLogger, secrets);
});
afterEach(async () => {
  for (const s of open.splice(0)) s.destroy();
  await listeners.sync({});
  await rm(root, { recursive: true, force: true });
});

const manual = (port: number, secretRef: string): Record<string, ListenerProperties> => ({ tls: { ports: [{ port, tls: { mode: 'Manual', manual: { secretRef } } }] } });

/** A TLS connection trusting only `ca`: resolves when the handshake succeeds, rejects when the server's certificate is not from `ca`. */
function tlsTo(port: number, ca: CertFiles): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: ca.certPem, servername: 'localhost', checkServerIdentity: () => undefined });
    open.push(socket);
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('ListenerManager replacing a port', () => {
  it.each([
    { what: 'the same configured port 0', nextPort: (_actual: number) => 0 },
    { what: 'the port number it is bound to', nextPort: (actual: number) => actual },
  ])('serves $what with another TLS secret instead of failing with EADDRINUSE', async ({ nextPort }) => {
    await listeners.sync(manual(0, 'cert-a'));
    const port = listeners.openPorts()[0]?.port ?? 0;
    const before = await tlsTo(port, caA);
    const closed = new Promise<void>((resolve) => before.once('close', () => resolve()));

    await listeners.sync(manual(nextPort(port), 'cert-b'));
    const now = listeners.openPorts();
    expect(now).toHaveLength(1);
    if (nextPort(port) !== 0) expect(now[0]?.port).toBe(port);
    await closed; // the old server's client was disconnected
    await expect(tlsTo(now[0]?.port ?? 0, caB)).resolves.toBeDefined();
    await expect(tlsTo(now[0]?.port ?? 0, caA)).rejects.toThrow();
  });
});
