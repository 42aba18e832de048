import { describe, expect, it } from 'vitest';
import { addMethods, buildMethods, dotNotation } from '../../../src/config/authn-method.js';
import { addPort, buildPort, removePort } from '../../../src/config/listener-port.js';
import { findIssues } from '../../../src/config/validate.js';

describe('listener port add (AIO port builder)', () => {
  it('emits only the keys that were set', () => {
    expect(buildPort({ port: 1883 })).toEqual({ port: 1883 });
    expect(buildPort({ port: 1, authnRef: 'a', authzRef: 'z', protocol: 'websockets', nodePort: 30001 })).toEqual({
      port: 1,
      authenticationRef: 'a',
      authorizationRef: 'z',
      protocol: 'WebSockets',
      nodePort: 30001,
    });
  });

  it('builds automatic and manual TLS, refusing both', () => {
    expect(buildPort({ port: 8883, tlsIssuerRef: ['kind=Issuer', 'name=i', 'other=x'], tlsSanDns: ['a'], tlsSecretName: 's' }).tls).toEqual({
      mode: 'Automatic',
      certManagerCertificateSpec: { issuerRef: { group: 'cert-manager.io', kind: 'Issuer', name: 'i' }, san: { dns: ['a'] }, secretName: 's' },
    });
    expect(buildPort({ port: 8883, tlsManSecretRef: 'm' }).tls).toEqual({ mode: 'Manual', manual: { secretRef: 'm' } });
    expect(() => buildPort({ port: 8883, tlsDuration: '1h', tlsManSecretRef: 'm' })).toThrow(
      'TLS may be setup with an automatic or manual config, not both.',
    );
  });

  it('creates a LoadBalancer listener, then upserts by port number', () => {
    const created = addPort(undefined, { port: 1884, serviceName: 'svc' });
    expect(created).toEqual({ serviceName: 'svc', serviceType: 'LoadBalancer', ports: [{ port: 1884 }] });
    const replaced = addPort(addPort(created, { port: 1885 }), { port: 1884, protocol: 'Mqtt' });
    expect(replaced.ports).toEqual([{ port: 1884, protocol: 'Mqtt' }, { port: 1885 }]);
    expect(findIssues('listener', replaced)).toEqual([]);
  });

  it('removes ports with the AIO warnings', () => {
    const l = { ports: [{ port: 1 }, { port: 2 }] };
    expect(removePort(l, 3)).toEqual({ kind: 'unchanged', warning: 'No port modification detected.' });
    expect(removePort(l, 1)).toEqual({ kind: 'updated', properties: { ports: [{ port: 2 }] } });
    expect(removePort({ ports: [{ port: 2 }] }, 2)).toEqual({
      kind: 'deleteListener',
      warning: 'Listener resource will be deleted as it will no longer have any ports configured.',
    });
  });
});

describe('authn method add', () => {
  it('needs at least one method', () => {
    expect(() => buildMethods({})).toThrow('At least one authn config is required.');
  });

  it('builds SAT, X509, Custom in that order and appends without de-duplication', () => {
    const methods = buildMethods({
      customEndpoint: 'https://auth',
      customX509SecretRef: 'sec',
      customHeaders: [['a=1'], ['b=x=y']],
      satAudiences: ['aud'],
      x509ClientCaRef: 'ca',
    });
    expect(methods.map((m) => m.method)).toEqual(['ServiceAccountToken', 'X509', 'Custom']);
    expect(methods[2]).toEqual({ method: 'Custom', customSettings: { endpoint: 'https://auth', auth: { x509: { secretRef: 'sec' } }, headers: { a: '1', b: 'x=y' } } });
    const twice = addMethods(addMethods(undefined, { satAudiences: ['a'] }), { satAudiences: ['a'] });
    expect(twice.authenticationMethods).toHaveLength(2);
    expect(findIssues('authentication', twice)).toEqual([]);
  });

  it('expands X509 attributes in dot notation', () => {
    expect(dotNotation(['root.subject=CN = Contoso Root CA Cert, OU = Engineering', 'root.attributes.organization=contoso'])).toEqual({
      root: { subject: 'CN = Contoso Root CA Cert, OU = Engineering', attributes: { organization: 'contoso' } },
    });
  });
});
