/** `ops broker ...` commands: flags only, mapped onto the action functions. */
import type { Command } from 'commander';
import type { SubResourceKind } from '../config/resources.js';
import type { CliContext } from './context.js';
import { runPersistShow, runPersistUpdate } from './actions/broker/persist.js';
import { runLimitsSet, runLimitsShow } from './actions/broker/limits.js';
import { runLogLevelSet } from './actions/broker/log-level.js';
import { runResourceApply, runResourceDelete, runResourceList, runResourceShow } from './actions/broker/resources.js';
import { runList, runShow } from './actions/broker/show.js';
import { runRun, runStart, runStop } from './actions/broker/start.js';
import { runStats, runStatus } from './actions/broker/status.js';
import { givenFlagGroups } from './lib/flags.js';
import { definedOnly } from '../shared/plain-objects.js';
import { addMethodCommands, addPortCommands } from './program-subcommands.js';
import { addTokenCommands } from './program-token.js';
import { addLogsCommand } from './program-logs.js';
import type { OutputFormat } from './lib/output.js';
import { examples, instanceOf, withInstance, withOutput, withYes, type InstanceOptions } from './option-builders.js';
import type { RunResult } from './program.js';

type WithOutput = InstanceOptions & { output?: OutputFormat };
type WithRepair = { repair?: boolean; backend?: string };

const BACKEND_HELP =
  'run as a cluster frontend on this Redis Cluster backend for this run (overrides the backend set at create), e.g. redis://10.0.0.5:7000,10.0.0.6:7000';

/** The process flags given (`--repair`, `--backend`). */
function processFlags(opts: WithRepair): WithRepair {
  return { ...(opts.repair === true ? { repair: true } : {}), ...(opts.backend !== undefined ? { backend: opts.backend } : {}) };
}

const REPAIR_HELP =
  'start on a store whose write-ahead log is damaged (STO_LOG_DAMAGED) with what survived, and report what was lost';

function addProcessCommands(broker: Command, ctx: CliContext, result: RunResult): void {
  examples(
    withInstance(broker.command('run'))
      .option('--repair', REPAIR_HELP)
      .option('--backend <url>', BACKEND_HELP)
      .description('Run the broker in the foreground (for containers and systemd); Ctrl-C stops it.'),
    ['ops broker run --instance default', 'ops broker run --instance edge-2 --backend redis://10.0.0.5:7000,10.0.0.6:7000'],
  ).action(async (opts: InstanceOptions & WithRepair) => {
    result.exitCode = await runRun({ instance: instanceOf(opts), ...processFlags(opts) }, ctx);
  });
  const start = withOutput(withInstance(broker.command('start')), 'text')
    .option('--repair', REPAIR_HELP)
    .option('--backend <url>', BACKEND_HELP)
    .description('Start the broker in the background.');
  examples(start, ['ops broker start', 'ops broker start --instance dev -o json', 'ops broker start --repair']).action(async (opts: WithOutput & WithRepair) =>
    runStart({ instance: instanceOf(opts), ...(opts.output ? { output: opts.output } : {}), ...processFlags(opts) }, ctx),
  );
  examples(withInstance(broker.command('stop')).description('Stop the broker gracefully (clients get DISCONNECT).'), ['ops broker stop']).action(
    async (opts: InstanceOptions) => runStop({ instance: instanceOf(opts) }, ctx),
  );
  const status = withOutput(withInstance(broker.command('status')), 'text').description('Is the broker running, where does it listen.');
  examples(status, ['ops broker status', 'ops broker status -o json']).action(async (opts: WithOutput) =>
    runStatus({ instance: instanceOf(opts), ...(opts.output ? { output: opts.output } : {}) }, ctx),
  );
  const stats = withOutput(withInstance(broker.command('stats')), 'text').description(
    'Live figures: clients, sessions, subscriptions, messages in/out, queued, retained, disk used.',
  );
  stats.option('--members', 'per member of a local topology (frontends: their own figures; Redis nodes: role, slots, memory); default: the cluster totals');
  examples(stats, ['ops broker stats', 'ops broker stats -o json', 'ops broker stats --members -o json']).action(async (opts: WithOutput & { members?: boolean }) =>
    runStats({ instance: instanceOf(opts), ...(opts.output ? { output: opts.output } : {}), ...(opts.members === true ? { members: true } : {}) }, ctx),
  );
}

function addShowCommands(broker: Command, ctx: CliContext): void {
  const show = withOutput(withInstance(broker.command('show')))
    .description('Show the Broker resource (id, name, type, properties, provisioningState).')
    .option('-n, --name <name>', 'broker name (only "default" exists)', 'default');
  examples(show, ['ops broker show', 'ops broker show -o yaml']).action(async (opts: WithOutput & { name: string; output: OutputFormat }) =>
    runShow({ instance: instanceOf(opts), name: opts.name, output: opts.output }, ctx),
  );
  const list = withOutput(withInstance(broker.command('list')))
    .description('List the Broker resources of the instance (--all: of every instance).')
    .option('--all', 'every instance under $OPS_HOME', false);
  examples(list, ['ops broker list -o table', 'ops broker list --all']).action(async (opts: WithOutput & { all: boolean; output: OutputFormat }) =>
    runList({ instance: instanceOf(opts), output: opts.output, all: opts.all }, ctx),
  );
  const logLevel = broker.command('log-level').description('Diagnostics log level.');
  examples(
    withInstance(logLevel.command('set').argument('<level>', 'trace|debug|info|warn|error')).description('Change the log level live (kept across restarts).'),
    ['ops broker log-level set debug'],
  ).action(async (level: string, opts: InstanceOptions) => runLogLevelSet({ instance: instanceOf(opts), level }, ctx));
}

interface PersistOptions extends InstanceOptions {
  name: string;
  output: OutputFormat;
  persistMode?: string[];
  retainTopics?: string[];
  subscriberClientIds?: string[];
  disableDynamic?: string[];
  userKey?: string;
  userValue?: string;
}

function addPersistCommands(broker: Command, ctx: CliContext): void {
  const persist = broker.command('persist').description('Disk persistence policy (enabled at create; runtime options change live).');
  const update = withOutput(withInstance(persist.command('update')))
    .description("Update the persistence policy of the running broker without a restart; setting a component's mode resets its config.")
    .option('-n, --name <name>', 'broker name', 'default')
    .option('--persist-mode <pairs...>', 'stateStore|retain|subscriberQueue=None|All|Custom (space-separated pairs)')
    .option('--retain-topics <topics...>', 'topic filters of retained messages to persist (retain mode Custom)')
    .option('--subscriber-client-ids <ids...>', 'client ids (wildcard *) whose queues persist (subscriberQueue mode Custom)')
    .option('--state-store-str-keys <keys...>', 'a group of exact state-store keys; repeatable')
    .option('--state-store-glob-keys <patterns...>', 'a group of state-store key patterns; repeatable')
    .option('--state-store-bin-keys <keys...>', 'a group of binary (base64 encoded) keys; repeatable')
    .option('--disable-dynamic <components...>', 'components whose dynamic (client-requested) persistence is disabled')
    .option('--user-key <key>', 'MQTT v5 user property key that asks for persistence (default aio-persistence)')
    .option('--user-value <value>', 'its value (default true); give both or neither');
  examples(update, [
    'ops broker persist update --persist-mode subscriberQueue=All retain=All stateStore=All',
    'ops broker persist update --persist-mode retain=Custom --retain-topics "sensor1" "factory/#" "groundfloor/+/temperature"',
    'ops broker persist update --persist-mode stateStore=Custom --state-store-str-keys "device-001" "device-002" --state-store-glob-keys "sensors/*" --state-store-bin-keys "bXlrZXkx"',
    'ops broker persist update --persist-mode subscriberQueue=Custom --subscriber-client-ids "factory-client-*" --user-key disk-persistence --user-value disk',
  ]).action(async (opts: PersistOptions) => {
    const groups = (flag: string) => givenFlagGroups(ctx.argv, flag);
    const optional = {
      persistMode: opts.persistMode,
      retainTopics: opts.retainTopics,
      subscriberClientIds: opts.subscriberClientIds,
      stateStoreStrKeys: groups('--state-store-str-keys'),
      stateStoreGlobKeys: groups('--state-store-glob-keys'),
      stateStoreBinKeys: groups('--state-store-bin-keys'),
      disableDynamic: opts.disableDynamic,
      userKey: opts.userKey,
      userValue: opts.userValue,
    };
    const present = definedOnly(optional);
    await runPersistUpdate({ instance: instanceOf(opts), name: opts.name, output: opts.output, ...present }, ctx);
  });
  const show = withOutput(withInstance(persist.command('show'))).description('Show the current persistence settings and live policy.');
  examples(show, ['ops broker persist show']).action(async (opts: WithOutput & { output: OutputFormat }) =>
    runPersistShow({ instance: instanceOf(opts), output: opts.output }, ctx),
  );
}

function addLimitsCommands(broker: Command, ctx: CliContext): void {
  const limits = broker
    .command('limits')
    .description('Abuse limits (ops-only): connections and connection rate per remote address, CONNECT size before authentication, failed-authentication backoff, bytes queued per session, subscriptions per client, topic levels, partial packets.');
  type LimitsOptions = WithOutput & {
    maxConnectionsPerAddress?: string;
    maxConnectionRate?: string;
    maxConnectSize?: string;
    maxAuthFailures?: string;
    authFailureWindow?: string;
    authBlock?: string;
    maxSessionQueueSize?: string;
    maxSubscriptions?: string;
    maxTopicLevels?: string;
    partialPacketTimeout?: string;
    maxPartialPacketBytes?: string;
  };
  const set = withOutput(withInstance(limits.command('set')), 'text')
    .description('Change the limits live (connections already open stay); 0 = unlimited. Kept across restarts.')
    .option('--max-connections-per-address <n>', 'concurrent connections from one IP address (0 = unlimited, the default); more get CONNACK 0x97')
    .option('--max-connection-rate <n>', 'new connections per second from one IP address (0 = unlimited, the default); more get CONNACK 0x9F')
    .option('--max-connect-size <size>', 'largest CONNECT before authentication, bytes or 64Ki (default 65536); bigger get CONNACK 0x95')
    .option('--max-auth-failures <n>', 'failed authentications from one IP address within the window before it is blocked (default 10; 0 = off); blocked get CONNACK 0x8A')
    .option('--auth-failure-window <seconds>', 'window in which failed authentications are counted, 1-86400 (default 60)')
    .option('--auth-block <seconds>', 'first block of an address, 1-86400 (default 60); a repeat block doubles, up to 64 times')
    .option(
      '--max-session-queue-size <size>',
      'bytes one session may have queued, bytes or 1Mi (default 1/16 of the memory profile budget); past it only that session drops, per subscriberQueueLimit.strategy',
    )
    .option('--max-subscriptions <n>', 'subscriptions one client session may hold (default 10000); more get SUBACK 0x97 (0x80 on 3.1.1)')
    .option('--max-topic-levels <n>', 'levels of a topic name or filter (default 100); deeper filters get SUBACK 0x8F, deeper PUBLISH topics DISCONNECT 0x90')
    .option('--partial-packet-timeout <seconds>', 'seconds a started packet has to arrive whole, keep-alive 0 or not (default 30); then DISCONNECT 0x97')
    .option('--max-partial-packet-bytes <size>', 'bytes of incomplete packets held across all connections, bytes or 128Mi (default: a quarter of the memory profile queue budget, at least one maximum packet); over it DISCONNECT 0x97');
  examples(set, [
    'ops broker limits set --max-connections-per-address 100 --max-connection-rate 20',
    'ops broker limits set --max-connect-size 16Ki',
    'ops broker limits set --max-auth-failures 5 --auth-failure-window 300 --auth-block 600',
    'ops broker limits set --max-session-queue-size 8Mi',
    'ops broker limits set --max-subscriptions 1000 --max-topic-levels 32 --partial-packet-timeout 10',
  ]).action(
    async (opts: LimitsOptions) =>
      runLimitsSet(
        {
          instance: instanceOf(opts),
          output: opts.output ?? 'text',
          ...(opts.maxConnectionsPerAddress !== undefined ? { maxConnectionsPerAddress: opts.maxConnectionsPerAddress } : {}),
          ...(opts.maxConnectionRate !== undefined ? { maxConnectionRatePerAddress: opts.maxConnectionRate } : {}),
          ...(opts.maxConnectSize !== undefined ? { maxConnectPacketBytes: opts.maxConnectSize } : {}),
          ...(opts.maxAuthFailures !== undefined ? { maxAuthFailuresPerAddress: opts.maxAuthFailures } : {}),
          ...(opts.authFailureWindow !== undefined ? { authFailureWindowSeconds: opts.authFailureWindow } : {}),
          ...(opts.authBlock !== undefined ? { authBlockSeconds: opts.authBlock } : {}),
          ...(opts.maxSessionQueueSize !== undefined ? { maxSessionQueueBytes: opts.maxSessionQueueSize } : {}),
          ...(opts.maxSubscriptions !== undefined ? { maxSubscriptionsPerClient: opts.maxSubscriptions } : {}),
          ...(opts.maxTopicLevels !== undefined ? { maxTopicLevels: opts.maxTopicLevels } : {}),
          ...(opts.partialPacketTimeout !== undefined ? { partialPacketTimeoutSeconds: opts.partialPacketTimeout } : {}),
          ...(opts.maxPartialPacketBytes !== undefined ? { maxPartialPacketBytes: opts.maxPartialPacketBytes } : {}),
        },
        ctx,
      ),
  );
  const show = withOutput(withInstance(limits.command('show')), 'text').description('Show the limits in force (defaults filled in).');
  examples(show, ['ops broker limits show', 'ops broker limits show -o json']).action(async (opts: WithOutput) =>
    runLimitsShow({ instance: instanceOf(opts), output: opts.output ?? 'text' }, ctx),
  );
}

function addResourceGroup(broker: Command, ctx: CliContext, group: string, kind: SubResourceKind, title: string): Command {
  const cmd = broker.command(group).description(`${title} resources of the broker.`);
  type Opts = WithOutput & { name: string; output: OutputFormat; configFile: string; yes: boolean };
  // -n is required, as in az: a default of 'default' made `listener delete --yes` delete the default listener.
  const named = (c: Command) => withOutput(withInstance(c)).requiredOption('-n, --name <name>', `${title.toLowerCase()} name`);
  const apply = withYes(named(cmd.command('apply')))
    .requiredOption('--config-file <file>', `${title} properties JSON (a top-level "properties" wrapper is accepted)`)
    .description(`Create or replace a ${title.toLowerCase()} from a file; validated, stored and applied live.`);
  examples(apply, [`ops broker ${group} apply --name my-${group} --config-file ${group}.json`]).action(async (opts: Opts) =>
    runResourceApply({ kind, instance: instanceOf(opts), name: opts.name, configFile: opts.configFile, output: opts.output, yes: opts.yes }, ctx),
  );
  examples(named(cmd.command('show')).description(`Show a ${title.toLowerCase()}.`), [`ops broker ${group} show --name default`]).action(
    async (opts: Opts) => runResourceShow({ kind, instance: instanceOf(opts), name: opts.name, output: opts.output }, ctx),
  );
  examples(withOutput(withInstance(cmd.command('list'))).description(`List the ${title.toLowerCase()}s.`), [`ops broker ${group} list -o table`]).action(
    async (opts: Opts) => runResourceList({ kind, instance: instanceOf(opts), output: opts.output }, ctx),
  );
  examples(withYes(named(cmd.command('delete'))).description(`Delete a ${title.toLowerCase()} (asks first on a terminal).`), [
    `ops broker ${group} delete --name my-${group} --yes`,
  ]).action(async (opts: Opts) => runResourceDelete({ kind, instance: instanceOf(opts), name: opts.name, output: opts.output, yes: opts.yes }, ctx));
  return cmd;
}

/** Adds `ops broker ...`. */
export function addBrokerCommands(program: Command, ctx: CliContext, result: RunResult): void {
  const broker = program.command('broker').description('The broker of an instance: process, resource, persistence, listeners, security.');
  addProcessCommands(broker, ctx, result);
  addShowCommands(broker, ctx);
  addPersistCommands(broker, ctx);
  addLimitsCommands(broker, ctx);
  addPortCommands(addResourceGroup(broker, ctx, 'listener', 'listener', 'Listener'), ctx);
  addMethodCommands(addResourceGroup(broker, ctx, 'authn', 'authentication', 'Authentication'), ctx);
  addResourceGroup(broker, ctx, 'authz', 'authorization', 'Authorization');
  addTokenCommands(broker, ctx);
  addLogsCommand(broker, ctx);
}
