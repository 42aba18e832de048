/** The commander program: flags only; every command calls a commander-free action function. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import type { CliContext, RunSettings } from './context.js';
import { runCreate } from './actions/create.js';
import { runDelete } from './actions/delete.js';
import { runValidate } from './actions/validate.js';
import { addBrokerCommands } from './program-broker.js';
import { addStateCommands } from './program-state.js';
import { intArg, portArg } from './lib/flags.js';
import { registerAliases } from './lib/long-options.js';
import { definedOnly } from '../shared/plain-objects.js';
import type { OutputFormat } from './lib/output.js';
import {
  applyGlobalOptions,
  examples,
  givenAzureScope,
  instanceOf,
  redactedArgv,
  withAzureScope,
  withGlobalOptions,
  withInstance,
  withOutput,
  withYes,
  type InstanceOptions,
} from './option-builders.js';

/** Where an action can leave a non-zero exit code without throwing (e.g. `broker run`). */
export interface RunResult {
  exitCode: number;
}

interface CreateOptions extends InstanceOptions {
  brokerConfigFile?: string;
  port?: number;
  securePort?: number;
  addInsecureListener?: boolean;
  mqInsecure?: boolean;
  host?: string;
  metricsPort?: number;
  brokerMemProfile?: string;
  brokerFrontendReplicas?: number;
  brokerFrontendWorkers?: number;
  brokerBackendRf?: number;
  brokerBackendWorkers?: number;
  brokerBackendPart?: number;
  persistMaxSize?: string;
  persistPvcSc?: string;
  persistMode?: string[];
  backend?: string;
  storeKeyFrom?: string;
  yes: boolean;
  output?: OutputFormat;
}

/** az's short forms of the create broker flags. */
const CREATE_ALIASES = {
  '--fr': '--broker-frontend-replicas',
  '--fw': '--broker-frontend-workers',
  '--br': '--broker-backend-rf',
  '--bw': '--broker-backend-workers',
  '--bp': '--broker-backend-part',
  '--mp': '--broker-mem-profile',
} as const;

function addCreate(program: Command, ctx: CliContext): void {
  const cmd = withYes(withOutput(withInstance(program.command('create')), 'text'))
    .description('Create an instance and start its broker in the background (returns once it accepts MQTT connections).')
    .option('--broker-config-file <file>', 'Broker properties JSON (validated; a top-level "properties" wrapper is accepted)')
    .option('--add-insecure-listener', "add listener 'default-insecure': plain MQTT on 1883, no TLS, authentication or authorization (as az)")
    .option('--mq-insecure', 'deprecated alias of --add-insecure-listener (as az)')
    .option('--port <port>', "port of the insecure listener 'default-insecure'; implies --add-insecure-listener (0 picks a free port)", portArg)
    .option('--secure-port <port>', "port of listener 'default' (TLS from the instance CA, service account tokens); default 18883, 0 picks a free port", portArg)
    .option('--host <address>', 'address the listeners bind to', '127.0.0.1')
    .option('--metrics-port <port>', 'Prometheus port of the instance (default 9600; 0 picks a free one)', portArg)
    .option('--broker-mem-profile <profile>', 'Tiny|Low|Medium|High (case-insensitive)')
    .option('--broker-frontend-replicas <n>', 'frontend replicas 1-16', intArg)
    .option('--broker-frontend-workers <n>', 'frontend workers 1-16', intArg)
    .option('--broker-backend-rf <n>', 'backend redundancy factor 2-5', intArg)
    .option('--broker-backend-workers <n>', 'backend workers 1-16', intArg)
    .option('--broker-backend-part <n>', 'backend partitions 1-16', intArg)
    .option('--persist-max-size <size>', 'enable disk persistence with this size (e.g. 10Gi; more than 100 MB)')
    .option('--persist-pvc-sc <class>', 'storage class of the persistence volume claim')
    .option('--persist-mode <pairs...>', 'stateStore|retain|subscriberQueue=None|All|Custom')
    .option('--backend <url>', 'run as a cluster frontend on this Redis Cluster backend, redis://host:port[,host:port...] (kept with the instance); local: run the whole topology here (cardinality: frontend replicas x workers ops-broker processes sharing the listener ports, backend partitions x redundancyFactor redis-server nodes), supervised')
    .option('--store-key-from <instance>', "with --backend: use that instance's store key (every frontend of one backend needs the same key)")
    .addHelpText('after', `\nShort forms (as az): ${Object.entries(CREATE_ALIASES).map(([a, l]) => `${a} = ${l}`).join(', ')}\n`)
    .action(async (opts: CreateOptions) => {
      await runCreate(
        {
          instance: instanceOf(opts),
          yes: opts.yes,
          ...definedOnly({
            brokerConfigFile: opts.brokerConfigFile,
            port: opts.port,
            securePort: opts.securePort,
            addInsecureListener: opts.addInsecureListener === true || opts.mqInsecure === true ? true : undefined,
            host: opts.host,
            metricsPort: opts.metricsPort,
            output: opts.output,
            memoryProfile: opts.brokerMemProfile,
            frontendReplicas: opts.brokerFrontendReplicas,
            frontendWorkers: opts.brokerFrontendWorkers,
            backendRedundancyFactor: opts.brokerBackendRf,
            backendWorkers: opts.brokerBackendWorkers,
            backendPartitions: opts.brokerBackendPart,
            maxSize: opts.persistMaxSize,
            pvcStorageClass: opts.persistPvcSc,
            persistMode: opts.persistMode,
            backend: opts.backend,
            storeKeyFrom: opts.storeKeyFrom,
          }),
        },
        ctx,
      );
    });
  registerAliases(cmd, CREATE_ALIASES);
  examples(cmd, [
    'ops create --add-insecure-listener   # TLS + tokens on 18883, and plain MQTT on 1883',
    'ops create --instance dev --port 0 --secure-port 0 -o json',
    'ops create --broker-config-file broker.json --instance factory',
    'ops create --instance durable --persist-max-size 10Gi --persist-mode retain=All',
    'ops create --instance edge-1 --backend redis://10.0.0.5:7000,10.0.0.6:7000',
    'ops create --instance edge-2 --backend redis://10.0.0.5:7000 --store-key-from edge-1',
  ]);
}

function addDelete(program: Command, ctx: CliContext): void {
  const cmd = withYes(withInstance(program.command('delete')))
    .description('Stop the broker and remove the instance with all its data (asks first on a terminal).')
    .action(async (opts: InstanceOptions & { yes: boolean }) => runDelete({ instance: instanceOf(opts), yes: opts.yes }, ctx));
  examples(cmd, ['ops delete --instance dev --yes']);
}

function addValidate(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('validate')
    .description('Validate a config file against its schema without creating anything.')
    .option('--broker-config-file <file>', 'a Broker properties file')
    .option('--config-file <file>', 'a listener, authentication or authorization file (with --kind)')
    .option('--kind <kind>', 'listener|authentication|authorization', 'listener')
    .action(async (opts: { brokerConfigFile?: string; configFile?: string; kind: string }) =>
      runValidate(definedOnly({ brokerConfigFile: opts.brokerConfigFile, configFile: opts.configFile, kind: opts.kind }), ctx),
    );
  examples(cmd, ['ops validate --broker-config-file broker.json', 'ops validate --config-file listener.json --kind listener']);
}

/** The package version (from package.json beside dist/ or src/). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}

/** Adds the Azure scope flags to every command that takes `--instance`. */
function addAzureScope(cmd: Command): void {
  for (const sub of cmd.commands) {
    if (sub.options.some((o) => o.long === '--instance')) withAzureScope(sub);
    addAzureScope(sub);
  }
}

/** Before any action: the global flags into `settings`, and one line for the Azure scope flags given. */
function addPreAction(program: Command, ctx: CliContext, settings: RunSettings): void {
  program.hook('preAction', (_root, action) => {
    applyGlobalOptions(program, action, settings, ctx.env);
    if (settings.debug) ctx.stderr.write(`${ctx.chalk.dim('debug:')} ops ${redactedArgv(ctx.argv).join(' ')}\n`);
    const scope = givenAzureScope(action);
    if (scope.length > 0) {
      ctx.stderr.write(`${ctx.chalk.yellow('warning:')} ${scope.join(', ')}: Azure scope, no local meaning here; ignored.\n`);
    }
  });
}

/** Builds the `ops` program; the global flags of the run are written into `settings`. */
export function buildProgram(ctx: CliContext, result: RunResult, settings: RunSettings = { onlyShowErrors: false, debug: false }): Command {
  const program = withGlobalOptions(
    new Command('ops')
      .description('Run and manage local MQTT brokers for Azure IoT Operations style edge apps (mirrors `az iot ops broker`).')
      .option('--no-color', 'no colours (NO_COLOR is honoured too)'),
  )
    .exitOverride()
    .showSuggestionAfterError()
    // Parser errors are printed by reportError, in the shape of every other error.
    .configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s), outputError: () => undefined });
  program.version(packageVersion(), '-V, --version');
  examples(program, [
    'ops create --port 1883            # instance "default", broker running on mqtt://127.0.0.1:1883',
    'ops broker status',
    'ops broker persist update --persist-mode retain=All',
    'ops state set -k color --value red',
    'ops delete --yes',
  ]);
  program.addHelpText(
    'after',
    '\nInstances live under $OPS_HOME (default ~/.ops). Exit codes: 0 ok, 1 internal error, 2 invalid input,\n3 broker/admin problem, 4 not found, 5 conflict or locked setting, 130 cancelled.\n' +
      'az compatibility: -g/--resource-group, --cluster, --subscription, --sr-resource-id and -b/--broker (default only)\n' +
      'are accepted and ignored; long options may be abbreviated to an unambiguous prefix (--authn for --authn-ref).\n',
  );
  addCreate(program, ctx);
  addDelete(program, ctx);
  addValidate(program, ctx);
  addBrokerCommands(program, ctx, result);
  addStateCommands(program, ctx, result);
  addAzureScope(program);
  addPreAction(program, ctx, settings);
  return program;
}
