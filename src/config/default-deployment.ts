/**
 * The resources `ops create` deploys besides the Broker, as `az iot ops create` does: the listener
 * `default` (TLS Automatic on 18883, authentication `default`), the authentication `default`
 * (ServiceAccountToken, audience `aio-internal`), and with `--add-insecure-listener` the listener
 * `default-insecure` (plain MQTT, no authentication, on 1883).
 */
import type { AuthenticationProperties, ListenerProperties } from './types.js';

/** Name of the TLS listener and of the authentication every create deploys. */
export const DEFAULT_RESOURCE_NAME = 'default';
/** Name of the plain listener `--add-insecure-listener` adds. */
export const INSECURE_LISTENER_NAME = 'default-insecure';
/** Port of the `default` listener (AIO's). */
export const DEFAULT_SECURE_PORT = 18883;
/** Port of the `default-insecure` listener (AIO's). */
export const DEFAULT_INSECURE_PORT = 1883;
/** The audience of the default authentication's service account tokens (AIO's). */
export const DEFAULT_TOKEN_AUDIENCE = 'aio-internal';
/**
 * The issuer AIO's default listener names (`<clusterNamespace>-aio-certificate-issuer`). Locally the
 * instance CA (`secrets/ca/`) issues every Automatic certificate; the reference is kept for fidelity.
 */
export const DEFAULT_ISSUER_NAME = 'azure-iot-operations-aio-certificate-issuer';

/** Listener `default`: TLS Automatic and authentication `default` on `port` (AIO: 18883, ClusterIp `aio-broker`). */
export function defaultListener(port: number): ListenerProperties {
  return {
    serviceName: 'aio-broker',
    serviceType: 'ClusterIp',
    ports: [
      {
        port,
        authenticationRef: DEFAULT_RESOURCE_NAME,
        tls: { mode: 'Automatic', certManagerCertificateSpec: { issuerRef: { name: DEFAULT_ISSUER_NAME, kind: 'ClusterIssuer', group: 'cert-manager.io' } } },
      },
    ],
  };
}

/** Listener `default-insecure`: plain MQTT on `port`, no TLS, authentication or authorization (AIO: 1883, LoadBalancer `aio-broker-insecure`). */
export function insecureListener(port: number): ListenerProperties {
  return { serviceName: 'aio-broker-insecure', serviceType: 'LoadBalancer', ports: [{ port }] };
}

/** Authentication `default`: service account tokens for audience `aio-internal`. */
export function defaultAuthentication(): AuthenticationProperties {
  return { authenticationMethods: [{ method: 'ServiceAccountToken', serviceAccountTokenSettings: { audiences: [DEFAULT_TOKEN_AUDIENCE] } }] };
}

/** Where the listeners of a new instance go: the `default` port, and the insecure port when there is one. */
export interface DeploymentPorts {
  /** `--secure-port` (0 picks a free one); default 18883. */
  readonly securePort?: number;
  /** `--port`: the insecure listener's port (implies it). */
  readonly port?: number;
  /** `--add-insecure-listener`. */
  readonly addInsecureListener?: boolean;
}

/** The listeners of a new instance, by name. */
export function deploymentListeners(ports: DeploymentPorts): Record<string, ListenerProperties> {
  const listeners: Record<string, ListenerProperties> = { [DEFAULT_RESOURCE_NAME]: defaultListener(ports.securePort ?? DEFAULT_SECURE_PORT) };
  if (ports.port !== undefined || ports.addInsecureListener === true) listeners[INSECURE_LISTENER_NAME] = insecureListener(ports.port ?? DEFAULT_INSECURE_PORT);
  return listeners;
}
