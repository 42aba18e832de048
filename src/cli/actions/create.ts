/** `ops create`: validate the Broker config, create a locked instance, start its broker. */
import { chmod, mkdir } from 'node:fs/promises';
import { buildCreateProperties, type CreateBrokerArgs } from '../../config/create-settings.js';
import { loadConfigFile } from '../../config/read-file.js';
import { assertNoLockedChanges } from '../../config/resources.js';
import { brokerView, withBackend, withCardinality } from '../../config/resource-view.js';
import { parseBackendAddress, type BackendAddress } from '../../config/backend-address.js';
import { writeBackendFile } from '../../instance/backend-file.js';
import { deploymentSettings, lockedSettingChanges, runtimeSettings, type DeploymentSettings } from '../../config/split.js';
import { defaultAuthentication, deploymentListeners, DEFAULT_RESOURCE_NAME, DEFAULT_TOKEN_AUDIENCE, INSECURE_LISTENER_NAME } from '../../config/default-deployment.js';
import type { BrokerProperties, ListenerProperties } from '../../config/types.js';
import { readDeploymentLock, writeDeploymentLock } from '../../instance/deployment-lock.js';
import { instanceExists, removeInstance } from '../../instance/instances.js';
import { assertAdminSocketFits, instancePaths, type InstancePaths } from '../../instance/layout.js';
import type { BrokerStatusFile } from '../../instance/status-file.js';
import { writeRuntimeState, RUNTIME_VERSION } from '../../instance/runtime-file.js';
import { createStoreKey, STORE_KEY_ENV } from '../../instance/store-key.js';
import { copiedStoreKey, writeCopiedStoreKey } from '../lib/store-key-copy.js';
import { OpsError } from '../../shared/errors.js';
import type { CliContext } from '../context.js';
import { MSG } from '../messages.js';
import { printValue, withSpinner, type OutputFormat } from '../lib/output.js';
import { portInUse } from '../lib/port-free.js';
import { createWizard } from '../lib/prompts.js';
import { interruptible, startDetached, startTimeoutMs } from '../lib/spawn-broker.js';
import { printStarted, STARTED_COLUMNS } from './broker/start.js';
import { assertRedisInstalled } from '../lib/redis-binaries.js';
import { concreteListenerPorts } from '../lib/topology-ports.js';
import { LOCAL_BACKEND, planTopology } from '../lib/topology-plan.js';
import { startTopologyDetached, topologyStartTimeoutMs } from '../lib/spawn-topology.js';
import { readTopologyStatus, topologyPaths, writeTopologyPlan, type TopologyPlan } from '../../instance/topology-file.js';

/** Inputs of `ops create`. */
export interface CreateInput extends CreateBrokerArgs {
  readonly instance: string;
  readonly brokerConfigFile?: string;
  /** `--port`: port of the insecure listener `default-insecure` (implies it; 0 picks a free one). */
  readonly port?: number;
  /** `--secure-port`: port of the TLS listener `default`; default 18883 (0 picks a free one). */
  readonly securePort?: number;
  /** `--add-insecure-listener`: add `default-insecure` (plain MQTT, no authentication) on 1883 or `--port`. */
  readonly addInsecureListener?: boolean;
  /** Address listeners bind to; default 127.0.0.1. */
  readonly host?: string;
  /** `--metrics-port`: the instance's Prometheus port (`diagnostics.metrics.prometheusPort`, 0 = a free one). */
  readonly metricsPort?: number;
  /** `--backend URL`: a cluster frontend on this Redis Cluster backend (stored in backend.json); `local`: the whole topology on this machine (topology.json). */
  readonly backend?: string;
  /** `--store-key-from NAME`: use instance NAME's store key (every frontend of one backend needs the same key). */
  readonly storeKeyFrom?: string;
  readonly yes: boolean;
  readonly output?: OutputFormat;
}

/** Default bind address. */
export const DEFAULT_HOST = '127.0.0.1';

async function brokerProperties(input: CreateInput): Promise<BrokerProperties> {
  const fromFlags = buildCreateProperties(input);
  const props = input.brokerConfigFile === undefined ? fromFlags : await loadConfigFile('broker', input.brokerConfigFile);
  return input.metricsPort === undefined ? props : withMetricsPort(props, input.metricsPort);
}

/**
 * `--metrics-port` is the Broker's `diagnostics.metrics.prometheusPort`: a runtime setting (not in the
 * deployment lock), so it overrides that field of a `--broker-config-file` and leaves the rest alone.
 */
export function withMetricsPort(props: BrokerProperties, port: number): BrokerProperties {
  const diagnostics = props.diagnostics ?? {};
  return { ...props, diagnostics: { ...diagnostics, metrics: { ...diagnostics.metrics, prometheusPort: port } } };
}

async function refuseExisting(paths: InstancePaths, proposed: DeploymentSettings, home: string): Promise<never> {
  const lock = await readDeploymentLock(paths.lock);
  assertNoLockedChanges(lockedSettingChanges(lock.settings as DeploymentSettings, proposed));
  throw new OpsError('INST_EXISTS', { name: paths.name, home, hint: `Start it with: ops broker start --instance ${paths.name}` });
}

/** Claims the instance by writing its lock (exclusive create); `INST_EXISTS` if another create won. */
async function claimInstance(paths: InstancePaths, props: BrokerProperties, home: string): Promise<void> {
  await mkdir(paths.data, { recursive: true, mode: 0o700 });
  await chmod(paths.dir, 0o700);
  await writeDeploymentLock(paths.lock, deploymentSettings(props) as Record<string, unknown>).then(
    () => undefined,
    (err: NodeJS.ErrnoException) => {
      throw err.code === 'EEXIST' ? new OpsError('INST_EXISTS', { name: paths.name, home, hint: 'Another create of it is running.' }) : err;
    },
  );
}

/** The flag that sets each default listener's port, named when that port is taken. */
const PORT_FLAG: Readonly<Record<string, string>> = { [DEFAULT_RESOURCE_NAME]: '--secure-port', [INSECURE_LISTENER_NAME]: '--port' };

/**
 * The listeners of the new instance, after checking their ports are free: a taken port fails create
 * with `INST_PORT_IN_USE` naming the flag that moves it, before anything is written.
 */
async function plannedListeners(input: CreateInput, host: string): Promise<Record<string, ListenerProperties>> {
  if (input.port !== undefined && input.port !== 0 && input.port === input.securePort) {
    throw new OpsError('CLI_USAGE', { message: `--port and --secure-port are both ${input.port}: the insecure and the TLS listener need ports of their own.` });
  }
  const listeners = deploymentListeners(input);
  for (const [listener, props] of Object.entries(listeners)) {
    for (const { port } of props.ports) {
      if (port !== 0 && (await portInUse(host, port))) throw new OpsError('INST_PORT_IN_USE', { port, listener, host, flag: PORT_FLAG[listener] ?? '--port' });
    }
  }
  return listeners;
}

/** How the new instance's store is kept: its backend and the store key to copy, if any. */
interface StorePlan {
  readonly backend?: BackendAddress;
  /** The key of `--store-key-from` (base64 text), written as the instance's key. */
  readonly copiedKey?: string;
  /** The key comes from `OPS_STORE_KEY`: no key file is made. */
  readonly keyFromEnv: boolean;
  /** A local topology (`--backend local`): its frontends' store is the local Redis Cluster. */
  readonly local?: TopologyPlan;
}

/**
 * Writes runtime.json with the default listeners and authentication, backend.json for a cluster
 * frontend, and `secrets/store.key` when the store is encrypted: copied from `--store-key-from`, else
 * new (not when the key comes from `OPS_STORE_KEY`: then no unused key is left in the instance). A
 * cluster frontend's store (Redis) is encrypted unless `persistence.encryption.mode` is Disabled.
 */
async function writeInstance(paths: InstancePaths, props: BrokerProperties, listeners: Record<string, ListenerProperties>, host: string, plan: StorePlan): Promise<void> {
  const stored = plan.backend !== undefined || plan.local !== undefined || props.persistence?.maxSize !== undefined;
  const encrypted = stored && props.persistence?.encryption?.mode !== 'Disabled';
  if (plan.backend !== undefined) await writeBackendFile(paths.backend, plan.backend);
  if (plan.local !== undefined) await writeTopologyPlan(topologyPaths(paths).plan, plan.local);
  if (plan.copiedKey !== undefined) await writeCopiedStoreKey(paths.storeKey, plan.copiedKey);
  else if (encrypted && !plan.keyFromEnv) await createStoreKey(paths.storeKey);
  await writeRuntimeState(paths.runtime, {
    version: RUNTIME_VERSION,
    host,
    broker: runtimeSettings(props),
    listeners: { ...listeners },
    authentications: { [DEFAULT_RESOURCE_NAME]: defaultAuthentication() },
    authorizations: {},
  });
}

/** How a client reaches the TLS listener `default`: the CA to trust and how to get a token. */
function printTlsHint(ctx: CliContext, paths: InstancePaths, status: BrokerStatusFile): void {
  const secure = status.ports.find((p) => p.listener === DEFAULT_RESOURCE_NAME && p.tls === true);
  if (secure === undefined) return;
  ctx.stdout.write(`${MSG.tlsHint(paths.ca.cert, paths.name, DEFAULT_TOKEN_AUDIENCE)}\n`);
}

/** Runs `ops create`. */
export async function runCreate(input: CreateInput, ctx: CliContext): Promise<void> {
  const paths = instancePaths(ctx.home, input.instance);
  assertAdminSocketFits(paths);
  let settings: CreateInput = input;
  const noBrokerFlags = Object.entries(input).every(([k, v]) => ['instance', 'yes', 'output', 'host', 'metricsPort', 'securePort', 'addInsecureListener'].includes(k) || v === undefined);
  if (noBrokerFlags && ctx.interactive && !input.yes && !(await instanceExists(paths))) settings = { ...input, ...(await createWizard()) };
  // Flags checked before anything is written: a bad one leaves no instance.
  const local = settings.backend === LOCAL_BACKEND;
  if (local) assertRedisInstalled(ctx.env);
  const backend = settings.backend === undefined || local ? undefined : parseBackendAddress(settings.backend);
  const copiedKey = settings.storeKeyFrom === undefined ? undefined : await copiedStoreKey(ctx.home, settings.storeKeyFrom, backend !== undefined || local);
  const props = await brokerProperties(settings);
  if (await instanceExists(paths)) await refuseExisting(paths, deploymentSettings(props), ctx.home);
  const host = settings.host ?? DEFAULT_HOST;
  // A local topology's frontends share each listener port: a port 0 is fixed now, for all of them and every restart.
  const listeners = local ? await concreteListenerPorts(await plannedListeners(settings, host), host) : await plannedListeners(settings, host);
  const topology = local ? await planTopology(props) : undefined;
  await mkdir(ctx.home, { recursive: true });
  await claimInstance(paths, props, ctx.home);
  let created = false;
  try {
    const keyFromEnv = (ctx.env[STORE_KEY_ENV] ?? '') !== '';
    await writeInstance(paths, props, listeners, host, { ...(backend !== undefined ? { backend } : {}), ...(copiedKey !== undefined ? { copiedKey } : {}), keyFromEnv, ...(topology !== undefined ? { local: topology } : {}) });
    const status = await withSpinner(ctx, MSG.starting(paths.name), () =>
      interruptible((signal) => (topology !== undefined ? startTopologyDetached(paths, topologyStartTimeoutMs(ctx.env), signal) : startDetached(paths, startTimeoutMs(ctx.env), {}, signal))),
    );
    const members = topology === undefined ? undefined : ((await readTopologyStatus(topologyPaths(paths).status))?.members ?? []);
    if (input.output) {
      const view = topology === undefined ? withBackend(brokerView(paths.name, props), backend) : withCardinality({ ...brokerView(paths.name, props), backend: { kind: 'local', partitions: topology.backend.partitions, redundancyFactor: topology.backend.redundancyFactor } }, 'local');
      printValue(ctx, { instance: paths.name, ...status, log: paths.log, broker: view, ...(members !== undefined ? { members } : {}) }, input.output, STARTED_COLUMNS);
    } else {
      ctx.stdout.write(`${ctx.chalk.green('✔')} ${MSG.created(paths.name, status.pid)}\n`);
      printStarted(ctx, paths, status);
      if (members !== undefined) ctx.stdout.write(`  members: ${members.filter((m) => m.kind === 'frontend').length} frontends sharing the listener ports, ${members.filter((m) => m.kind === 'backend').length} Redis nodes (ops broker status --instance ${paths.name})\n`);
      printTlsHint(ctx, paths, status);
    }
    created = true;
  } finally {
    // All or nothing: an instance whose broker could not start is removed again.
    if (!created) await removeInstance(paths);
  }
}
