/**
 * Defence in depth behind the schema: a stored listener whose TLS secret
 * names leave the secrets folder (an old runtime.json, a hand edit) is not served, says why, and
 * the broker reads and writes nothing outside the instance: no certificate, key or second CA.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ListenerProperties } from '../../../src/config/types.js';
import { ListenerManager } from '../../../src/server/listeners.js';
import { ensureSelfSigned } from '../../../src/server/self-signed.js';
import { silentLogger } from '../../../src/shared/log.js';

let root: string;
let secrets: string;
let listeners: ListenerManager;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'ops-secret-paths-'));
  secrets = join(root, 'instance', 'secrets');
  await mkdir(secrets, { recursive: true });
  await mkdir(join(root, 'outside'));
  await writeFile(join(root, 'outside', 'tls.crt'), 'attacker-chosen');
  await writeFile(join(root, 'outside', 'tls.key'), 'attacker-chosen');
  listeners = new ListenerManager('127.0.0.1', () => undefined, silentLogger, secrets);
});
afterEach(async () => {
  await listeners.sync({});
  await rm(root, { recursive: true, force: true });
});

const automatic = (secretName: string) => ({ mode: 'Automatic' as const, certManagerCertificateSpec: { issuerRef: { kind: 'Issuer', name: 'x' }, secretName } });

describe('ListenerManager secret paths', () => {
  it('skips ports whose Manual secretRef or Automatic secretName leaves the secrets folder, writing nothing outside', async () => {
    const stored: Record<string, ListenerProperties> = {
      manual: { ports: [{ port: 0, tls: { mode: 'Manual', manual: { secretRef: '../../outside' } } }] },
      automatic: { ports: [{ port: 0, tls: automatic('../../escaped') }] },
    };
    await listeners.sync(stored);
    expect(listeners.openPorts()).toEqual([]);
    const skipped = listeners.skippedPorts();
    expect(skipped.map((s) => s.listener).sort()).toEqual(['automatic', 'manual']);
    expect(skipped.find((s) => s.listener === 'manual')?.reason).toContain('tls.manual.secretRef "../../outside" is not a Kubernetes name');
    expect(skipped.find((s) => s.listener === 'automatic')?.reason).toContain('certManagerCertificateSpec.secretName "../../escaped" is not a Kubernetes name');
    expect((await readdir(root)).sort()).toEqual(['instance', 'outside']);
    expect((await readdir(join(root, 'outside'))).sort()).toEqual(['tls.crt', 'tls.key']);
    expect(existsSync(join(root, 'instance', 'ca'))).toBe(false);
  });

  it('does not issue an Automatic certificate through a symlinked secret folder', async () => {
    await symlink(join(root, 'outside'), join(secrets, 'linked'));
    await expect(ensureSelfSigned(join(secrets, 'linked'), {})).rejects.toMatchObject({ code: 'INST_UNSAFE_PATH' });
    await listeners.sync({ linked: { ports: [{ port: 0, tls: automatic('linked') }] } });
    expect(listeners.skippedPorts()[0]?.reason).toContain('symbolic link');
    expect((await readdir(join(root, 'outside'))).sort()).toEqual(['tls.crt', 'tls.key']);
  });
});
