/**
 * Config names that become paths. An instance's `secrets/` folder stands in for Kubernetes Secrets
 * and ConfigMaps, so a reference `NAME` (`tls.manual.secretRef`, `certManagerCertificateSpec.secretName`,
 * `trustedClientCaCert`, `caCertConfigMap`, `auth.x509.secretRef`) is the folder `secrets/NAME/`.
 * The schemas already restrict those names to the Kubernetes object name syntax; this is the second
 * wall: every such path is built here, and a name that is not a plain Kubernetes name, or whose path
 * would not be a direct child of the secrets folder, is refused.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { OpsError, reasonOf } from '../shared/errors.js';

/** A Kubernetes Secret or ConfigMap name: a DNS-1123 subdomain (the schemas' `kubernetesName`). */
const KUBERNETES_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_NAME_LENGTH = 253;

/** True when `name` is a Kubernetes object name (DNS-1123 subdomain, at most 253 characters). */
export function isKubernetesName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && KUBERNETES_NAME.test(name);
}

/**
 * The folder `secretsDir/name` of a referenced secret or config map; throws `INST_UNSAFE_PATH`
 * when `name` is not a Kubernetes name or the folder would not be directly inside `secretsDir`.
 * @param field the config field the name came from (for the message), e.g. `tls.manual.secretRef`.
 */
export function secretFolder(secretsDir: string, name: string, field: string): string {
  const base = resolve(secretsDir);
  const folder = resolve(base, name);
  const inside = dirname(folder) === base && basename(folder) === name && relative(base, folder) === name;
  if (!isKubernetesName(name) || !inside) {
    throw new OpsError('INST_UNSAFE_PATH', {
      path: folder,
      reason: `${field} ${JSON.stringify(name)} is not a Kubernetes name (lowercase letters, digits, '-' and '.'), so it may not name a folder of ${base}`,
    });
  }
  return folder;
}

/** A TLS secret's folder and files, or why a port cannot use it yet. */
export type TlsSecretLookup = { readonly folder: string } | { readonly problem: string };

/**
 * Finds the TLS secret `name` (`secrets/NAME/tls.crt` and `tls.key`): its folder, or why it cannot be
 * used (not a Kubernetes name, or the files are not there). The broker skips a port for this reason;
 * the CLI warns with it when such a port is applied.
 */
export function findTlsSecret(secretsDir: string, name: string, field: string): TlsSecretLookup {
  let folder: string;
  try {
    folder = secretFolder(secretsDir, name, field);
  } catch (err) {
    return { problem: reasonOf(err) };
  }
  if (!existsSync(join(folder, 'tls.crt')) || !existsSync(join(folder, 'tls.key'))) return { problem: `TLS secret '${name}' not found: put tls.crt and tls.key in ${folder}` };
  return { folder };
}
