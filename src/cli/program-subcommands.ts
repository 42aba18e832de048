/** `ops broker listener port add|remove` and `ops broker authn method add` flags. */
import type { Command } from 'commander';
import type { MethodAddArgs } from '../config/authn-method.js';
import type { PortAddArgs } from '../config/listener-port.js';
import type { CliContext } from './context.js';
import { runMethodAdd, runPortAdd, runPortRemove } from './actions/broker/listener-port.js';
import { givenFlagGroups, intArg, portArg } from './lib/flags.js';
import type { OutputFormat } from './lib/output.js';
import { examples, instanceOf, withInstance, withOutput, withYes, type InstanceOptions } from './option-builders.js';
import { definedOnly } from '../shared/plain-objects.js';

type Common = InstanceOptions & { output: OutputFormat; showConfig?: boolean; yes?: boolean };

interface PortOptions extends Common {
  listener: string;
  port: number;
  serviceName?: string;
  serviceType?: string;
  protocol?: string;
  authnRef?: string;
  authzRef?: string;
  nodeport?: number;
  tlsIssuerRef?: string[];
  tlsDuration?: string;
  tlsKeyAlgo?: string;
  tlsKeyRotation?: string;
  tlsRenewBefore?: string;
  tlsSanDns?: string[];
  tlsSanIp?: string[];
  tlsSecretName?: string;
  tlsManSecretRef?: string;
}

/** Adds `listener port add|remove`. */
export function addPortCommands(listener: Command, ctx: CliContext): void {
  const port = listener.command('port').description('Ports of a listener.');
  const add = withYes(withOutput(withInstance(port.command('add'))))
    .description('Add or replace (by port number) a port of a listener; creates the listener when it does not exist.')
    .requiredOption('-n, --listener <name>', 'listener name')
    .requiredOption('--port <port>', 'port number', portArg)
    .option('--service-name <name>', 'service name (new listener only)')
    .option('--service-type <type>', 'ClusterIp|LoadBalancer|NodePort (new listener only; default LoadBalancer)')
    .option('--protocol <protocol>', 'Mqtt|WebSockets')
    .option('--authn-ref <name>', 'authentication to use on the port')
    .option('--authz-ref <name>', 'authorization to use on the port')
    .option('--nodeport <port>', 'node port (NodePort services)', intArg)
    .option('--tls-issuer-ref <pairs...>', 'automatic TLS issuer: group= kind= name= (group defaults to cert-manager.io)')
    .option('--tls-duration <duration>', 'automatic TLS certificate duration')
    .option('--tls-key-algo <algo>', 'Ec256|Ec384|Ec521|Ed25519|Rsa2048|Rsa4096|Rsa8192')
    .option('--tls-key-rotation <policy>', 'Always|Never')
    .option('--tls-renew-before <duration>', 'renew this long before expiry')
    .option('--tls-san-dns <names...>', 'subject alternative DNS names')
    .option('--tls-san-ip <ips...>', 'subject alternative IPs')
    .option('--tls-secret-name <name>', 'secret of the generated certificate')
    .option('--tls-man-secret-ref <name>', 'manual TLS: secret with the server certificate')
    .option('--show-config', 'print the resulting listener properties without applying them');
  examples(add, [
    'ops broker listener port add --listener extra --port 1884',
    'ops broker listener port add -n extra --port 8883 --authn-ref default --tls-issuer-ref kind=ClusterIssuer name=my-issuer --show-config',
  ]).action(async (o: PortOptions) => {
    const args: PortAddArgs = definedOnly({
      port: o.port,
      serviceName: o.serviceName,
      serviceType: o.serviceType,
      protocol: o.protocol,
      authnRef: o.authnRef,
      authzRef: o.authzRef,
      nodePort: o.nodeport,
      tlsIssuerRef: o.tlsIssuerRef,
      tlsDuration: o.tlsDuration,
      tlsKeyAlgo: o.tlsKeyAlgo,
      tlsKeyRotation: o.tlsKeyRotation,
      tlsRenewBefore: o.tlsRenewBefore,
      tlsSanDns: o.tlsSanDns,
      tlsSanIp: o.tlsSanIp,
      tlsSecretName: o.tlsSecretName,
      tlsManSecretRef: o.tlsManSecretRef,
    });
    await runPortAdd({ instance: instanceOf(o), name: o.listener, output: o.output, showConfig: o.showConfig === true, yes: o.yes === true, args }, ctx);
  });
  const remove = withYes(withOutput(withInstance(port.command('remove'))))
    .description('Remove a port of a listener (the last port removes the listener; asks first on a terminal).')
    .requiredOption('-n, --listener <name>', 'listener name')
    .requiredOption('--port <port>', 'port number', portArg);
  examples(remove, ['ops broker listener port remove --listener extra --port 1884 --yes']).action(async (o: PortOptions) =>
    runPortRemove({ instance: instanceOf(o), name: o.listener, output: o.output, port: o.port, yes: o.yes === true }, ctx),
  );
}

interface MethodOptions extends Common {
  authn: string;
  satAud?: string[];
  x509ClientCaRef?: string;
  customEp?: string;
  customCaRef?: string;
  customX509SecretRef?: string;
}

/** Adds `authn method add`. */
export function addMethodCommands(authn: Command, ctx: CliContext): void {
  const method = authn.command('method').description('Methods of an authentication.');
  const add = withOutput(withInstance(method.command('add')))
    .description('Append authentication methods (at most one of each kind, in the order SAT, X509, Custom); creates the authentication when needed.')
    .requiredOption('-n, --authn <name>', 'authentication name')
    .option('--sat-aud <audiences...>', 'ServiceAccountToken audiences')
    .option('--x509-client-ca-ref <configmap>', 'X509 trusted client CA config map')
    .option('--x509-attr <attrs...>', 'X509 authorization attributes in dot notation (root.subject=... root.attributes.k=v); repeatable')
    .option('--custom-ep <url>', 'Custom auth endpoint (https://...)')
    .option('--custom-ca-ref <configmap>', 'Custom auth CA config map')
    .option('--custom-x509-secret-ref <secret>', 'Custom auth client certificate secret')
    .option('--custom-header <pairs...>', 'Custom auth headers k=v; repeatable')
    .option('--show-config', 'print the resulting authentication properties without applying them');
  examples(add, [
    'ops broker authn method add --authn default --sat-aud my-audience',
    'ops broker authn method add -n x509 --x509-client-ca-ref client-ca --x509-attr root.subject="CN = Contoso" root.attributes.organization=contoso',
  ]).action(async (o: MethodOptions) => {
    const groups = (flag: string) => givenFlagGroups(ctx.argv, flag);
    const args: MethodAddArgs = definedOnly({
      satAudiences: o.satAud,
      x509ClientCaRef: o.x509ClientCaRef,
      x509Attributes: groups('--x509-attr'),
      customEndpoint: o.customEp,
      customCaRef: o.customCaRef,
      customX509SecretRef: o.customX509SecretRef,
      customHeaders: groups('--custom-header'),
    });
    await runMethodAdd({ instance: instanceOf(o), name: o.authn, output: o.output, showConfig: o.showConfig === true, args }, ctx);
  });
}
