/**
 * What `ops broker listener show` adds for ports with `tls.mode: Automatic`: where the instance CA
 * certificate is (clients trust this one file) and each port's issued certificate. Outside
 * `properties`, so the resource itself stays AIO's.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ListenerProperties } from '../../../config/types.js';
import type { InstancePaths } from '../../../instance/layout.js';
import { secretFolder } from '../../../instance/secret-folder.js';

/** The `automaticTls` part of a listener view. */
export interface AutomaticTlsView {
  /** The instance CA certificate (PEM): give it to clients as their trusted CA. */
  readonly caCertificate: string;
  /** False until a broker has served an Automatic TLS port of this instance (the CA is made then). */
  readonly caCertificateExists: boolean;
  readonly ports: readonly { readonly port: number; readonly secret: string; readonly certificate: string }[];
}

/** The Automatic TLS facts of a listener's properties, or undefined when none of its ports uses it. */
export function automaticTlsOf(paths: InstancePaths, listener: string, properties: ListenerProperties): AutomaticTlsView | undefined {
  const automatic = properties.ports.filter((p) => p.tls?.mode === 'Automatic');
  if (automatic.length === 0) return undefined;
  return {
    caCertificate: paths.ca.cert,
    caCertificateExists: existsSync(paths.ca.cert),
    ports: automatic.map((p) => {
      const named = p.tls?.certManagerCertificateSpec?.['secretName'];
      const secret = typeof named === 'string' ? named : `auto-${listener}-${String(p.port)}`;
      return { port: p.port, secret, certificate: join(secretFolder(paths.secrets, secret, 'certManagerCertificateSpec.secretName'), 'tls.crt') };
    }),
  };
}
