import { describe, expect, it } from 'vitest';
import { defaultAuthentication, deploymentListeners } from '../../../src/config/default-deployment.js';
import { findIssues } from '../../../src/config/validate.js';

describe('the listeners ops create deploys', () => {
  it('is listener default alone, on 18883 with TLS Automatic and authentication default, as az iot ops create', () => {
    const listeners = deploymentListeners({});
    expect(Object.keys(listeners)).toEqual(['default']);
    expect(listeners['default']?.ports).toEqual([
      {
        port: 18883,
        authenticationRef: 'default',
        tls: { mode: 'Automatic', certManagerCertificateSpec: { issuerRef: { name: 'azure-iot-operations-aio-certificate-issuer', kind: 'ClusterIssuer', group: 'cert-manager.io' } } },
      },
    ]);
  });

  it('adds default-insecure on 1883 with --add-insecure-listener, on N with --port N', () => {
    expect(deploymentListeners({ addInsecureListener: true })['default-insecure']).toEqual({ serviceName: 'aio-broker-insecure', serviceType: 'LoadBalancer', ports: [{ port: 1883 }] });
    const moved = deploymentListeners({ port: 2883, securePort: 28883 });
    expect(moved['default-insecure']?.ports).toEqual([{ port: 2883 }]);
    expect(moved['default']?.ports[0]?.port).toBe(28883);
  });

  it('deploys resources that pass their schemas and rules', () => {
    for (const props of Object.values(deploymentListeners({ addInsecureListener: true }))) expect(findIssues('listener', props)).toEqual([]);
    expect(findIssues('authentication', defaultAuthentication())).toEqual([]);
  });
});
