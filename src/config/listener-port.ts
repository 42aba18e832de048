/**
 * `listener port add|remove` as the AIO CLI does them: build a port object from flags (only the
 * keys that were set), upsert it by port number into the listener (creating the listener when it
 * does not exist), or remove it (the last port removes the listener).
 */
import { OpsError } from '../shared/errors.js';
import { normalizeEnum } from './create-settings.js';
import { TLS_BOTH_MESSAGE } from './rules.js';
import type { ListenerPort, ListenerProperties } from './types.js';

/** Flags of `listener port add`. */
export interface PortAddArgs {
  port: number;
  serviceName?: string;
  serviceType?: string;
  protocol?: string;
  authnRef?: string;
  authzRef?: string;
  nodePort?: number;
  tlsIssuerRef?: readonly string[];
  tlsDuration?: string;
  tlsKeyAlgo?: string;
  tlsKeyRotation?: string;
  tlsRenewBefore?: string;
  tlsSanDns?: readonly string[];
  tlsSanIp?: readonly string[];
  tlsSecretName?: string;
  tlsManSecretRef?: string;
}

/** AIO messages of `listener port remove`. */
export const PORT_MESSAGES = {
  noChange: 'No port modification detected.',
  lastPort: 'Listener resource will be deleted as it will no longer have any ports configured.',
} as const;

const KEY_ALGOS = ['Ec256', 'Ec384', 'Ec521', 'Ed25519', 'Rsa2048', 'Rsa4096', 'Rsa8192'] as const;

function set<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

function automaticTls(a: PortAddArgs): Record<string, unknown> | undefined {
  const spec: Record<string, unknown> = {};
  if (a.tlsIssuerRef) {
    const ref = new Map(a.tlsIssuerRef.map((t) => [t.split('=')[0] ?? '', t.slice(t.indexOf('=') + 1)] as const));
    const issuerRef: Record<string, string> = { group: ref.get('group') ?? 'cert-manager.io' };
    set(issuerRef, 'kind', ref.get('kind'));
    set(issuerRef, 'name', ref.get('name'));
    spec['issuerRef'] = issuerRef;
  }
  set(spec, 'duration', a.tlsDuration);
  if (a.tlsKeyAlgo !== undefined || a.tlsKeyRotation !== undefined) {
    const key: Record<string, string> = {};
    if (a.tlsKeyAlgo !== undefined) key['algorithm'] = normalizeEnum('--tls-key-algo', a.tlsKeyAlgo, KEY_ALGOS);
    if (a.tlsKeyRotation !== undefined) key['rotationPolicy'] = normalizeEnum('--tls-key-rotation', a.tlsKeyRotation, ['Always', 'Never']);
    spec['privateKey'] = key;
  }
  set(spec, 'renewBefore', a.tlsRenewBefore);
  if (a.tlsSanDns || a.tlsSanIp) {
    const san: Record<string, readonly string[]> = {};
    set(san, 'dns', a.tlsSanDns);
    set(san, 'ip', a.tlsSanIp);
    spec['san'] = san;
  }
  set(spec, 'secretName', a.tlsSecretName);
  return Object.keys(spec).length > 0 ? spec : undefined;
}

/** Builds the port object of `listener port add` (only set keys). */
export function buildPort(a: PortAddArgs): ListenerPort {
  const auto = automaticTls(a);
  if (auto && a.tlsManSecretRef !== undefined) throw new OpsError('CFG_FLAG_INVALID', { message: TLS_BOTH_MESSAGE });
  const port: ListenerPort = { port: a.port };
  set(port, 'authenticationRef', a.authnRef);
  set(port, 'authorizationRef', a.authzRef);
  if (a.protocol !== undefined) port.protocol = normalizeEnum('--protocol', a.protocol, ['Mqtt', 'WebSockets']);
  set(port, 'nodePort', a.nodePort);
  if (auto) port.tls = { mode: 'Automatic', certManagerCertificateSpec: auto };
  if (a.tlsManSecretRef !== undefined) port.tls = { mode: 'Manual', manual: { secretRef: a.tlsManSecretRef } };
  return port;
}

/** Upserts the port into `existing` (or a new listener of `--service-type`, default LoadBalancer). */
export function addPort(existing: ListenerProperties | undefined, a: PortAddArgs): ListenerProperties {
  const port = buildPort(a);
  if (!existing) {
    const props: ListenerProperties = {
      serviceType: normalizeEnum('--service-type', a.serviceType ?? 'LoadBalancer', ['ClusterIp', 'LoadBalancer', 'NodePort']),
      ports: [port],
    };
    return a.serviceName === undefined ? props : { serviceName: a.serviceName, ...props };
  }
  const ports = existing.ports.some((p) => p.port === a.port)
    ? existing.ports.map((p) => (p.port === a.port ? port : p))
    : [...existing.ports, port];
  return { ...existing, ports };
}

/** Outcome of `listener port remove`. */
export type PortRemoval =
  | { readonly kind: 'unchanged'; readonly warning: string }
  | { readonly kind: 'deleteListener'; readonly warning: string }
  | { readonly kind: 'updated'; readonly properties: ListenerProperties };

/** Removes `port` from a listener. */
export function removePort(existing: ListenerProperties, port: number): PortRemoval {
  if (!existing.ports.some((p) => p.port === port)) return { kind: 'unchanged', warning: PORT_MESSAGES.noChange };
  const ports = existing.ports.filter((p) => p.port !== port);
  if (ports.length === 0) return { kind: 'deleteListener', warning: PORT_MESSAGES.lastPort };
  return { kind: 'updated', properties: { ...existing, ports } };
}
