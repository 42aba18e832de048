/**
 * The one place a config reference becomes `secrets/NAME/`: only plain
 * Kubernetes names, and only direct children of the secrets folder.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isKubernetesName, secretFolder } from '../../../src/instance/secret-folder.js';
import { OpsError } from '../../../src/shared/errors.js';

const SECRETS = '/srv/ops/default/secrets';

describe('secretFolder', () => {
  it.each(['server-cert', 'client-ca', 'a', 'broker.tls', 'x'.repeat(253), 'constructor'])('resolves %s under the secrets folder', (name) => {
    expect(secretFolder(SECRETS, name, 'tls.manual.secretRef')).toBe(join(SECRETS, name));
  });

  it.each([
    '../../../outside',
    '..',
    '.',
    '',
    'a/b',
    '/etc',
    'a/../../b',
    'ok\\..\\x',
    '__proto__',
    'toString',
    'UPPER',
    '-lead',
    'trail-',
    'a..b',
    'x'.repeat(254),
    'nul\u0000',
  ])('refuses %j with INST_UNSAFE_PATH naming the field', (name) => {
    let caught: unknown;
    try {
      secretFolder(SECRETS, name, 'certManagerCertificateSpec.secretName');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(OpsError);
    expect((caught as OpsError).code).toBe('INST_UNSAFE_PATH');
    expect((caught as OpsError).message).toContain('certManagerCertificateSpec.secretName');
    expect(isKubernetesName(name)).toBe(false);
  });
});
