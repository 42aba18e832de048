/** `ops create`: validate the Broker config, create a locked instance, start its broker. */
import { chmod, mkdir } from 'node:fs/promises';
import { buildCreateProperties, type CreateBrokerArgs } from '../../config/create-settings.js';
import { loadConfigFile } from '../../config/read-file.js';
import { assertNoLockedChanges } from '../../config/resources.js';
import { brokerView } from '../../config/resource-view.js';
import { deploymentSettings, lockedSettingChanges, runtimeSettings, type DeploymentSettings } from '../../config/split.js';
import type { BrokerProperties, ListenerProperties } from '../../config/types.js';
import { readDeploymentLock, writeDeploymentLock } from '../../instance/deployment-lock.js';
import { instanceExists, removeInstance } from '../../instance/instances.js';
import { assertAdminSocketFits, instancePaths, type InstancePaths } from '../../instance/layout.js';
import { writeRuntimeState, RUNTIME_VERSION } from '../../instance/runtime-file.js';
import { createStoreKey, STORE_KEY_ENV } from '../../instance/store-key.js';
import { OpsError } from '../../shared/errors.js';
import type { CliContext } from '../context.js';
import { MSG } from '../messages.js';
import { printValue, withSpinner, type OutputFormat } from '../lib/output.js';
import { createWizard } from '../lib/prompts.js';
import { interruptible, startDetached, startTimeoutMs } from '../lib/spawn-broker.js';
import { printStarted, STARTED_COLUMNS } from './broker/start.js';

/** Inputs of `ops create`. */
export interface CreateInput extends CreateBrokerArgs {
  readonly instance: string;
  readonly brokerConfigFile?: string;
  /** Port of the default listener; default 1883. */
  readonly port?: number;
  /** Address listeners bind to; default 127.0.0.1. */
  readonly host?: string;
  /** `--metrics-port`: the instance's Prometheus port (`diagnostics.metrics.prometheusPort`, 0 = a free one). */
  readonly metricsPort?: number;
  readonly yes: boolean;
  readonly output?: OutputFormat;
}

/** Default port of the `default` listener, as AIO's insecure listener. */
export const DEFAULT_PORT = 1883;
/** Default bind address. */
export const DEFAULT_HOST = '127.0.0.1';

/** The `default` listener: plain MQTT, no authentication, like AIO's insecure listener. */
export function defaultListener(port: number): ListenerProperties {
  return { serviceName: 'aio-broker-insecure', serviceType: 'LoadBalancer', ports: [{ port, protocol: 'Mqtt' }] };
}

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

/**
 * Writes runtime.json with the default listener, and `secrets/store.key` when the store is encrypted
 * (not when the key comes from `OPS_STORE_KEY`: then no unused key is left in the instance).
 */
async function writeInstance(paths: InstancePaths, props: BrokerProperties, port: number, host: string, keyFromEnv: boolean): Promise<void> {
  const encrypted = props.persistence?.maxSize !== undefined && props.persistence.encryption?.mode !== 'Disabled';
  if (encrypted && !keyFromEnv) await createStoreKey(paths.storeKey);
  await writeRuntimeState(paths.runtime, {
    version: RUNTIME_VERSION,
    host,
    broker: runtimeSettings(props),
    listeners: { default: defaultListener(port) },
    authentications: {},
    authorizations: {},
  });
}

/** Runs `ops create`. */
export async function runCreate(input: CreateInput, ctx: CliContext): Promise<void> {
  const paths = instancePaths(ctx.home, input.instance);
  assertAdminSocketFits(paths);
  let settings: CreateInput = input;
  const noBrokerFlags = Object.entries(input).every(([k, v]) => ['instance', 'yes', 'output', 'host', 'metricsPort'].includes(k) || v === undefined);
  if (noBrokerFlags && ctx.interactive && !input.yes && !(await instanceExists(paths))) settings = { ...input, ...(await createWizard()) };
  const props = await brokerProperties(settings);
  if (await instanceExists(paths)) await refuseExisting(paths, deploymentSettings(props), ctx.home);
  await mkdir(ctx.home, { recursive: true });
  await claimInstance(paths, props, ctx.home);
  let created = false;
  try {
    const keyFromEnv = (ctx.env[STORE_KEY_ENV] ?? '') !== '';
    await writeInstance(paths, props, settings.port ?? DEFAULT_PORT, settings.host ?? DEFAULT_HOST, keyFromEnv);
    const status = await withSpinner(ctx, MSG.starting(paths.name), () => interruptible((signal) => startDetached(paths, startTimeoutMs(ctx.env), false, signal)));
    if (input.output) {
      printValue(ctx, { instance: paths.name, ...status, log: paths.log, broker: brokerView(paths.name, props) }, input.output, STARTED_COLUMNS);
    } else {
      ctx.stdout.write(`${ctx.chalk.green('✔')} ${MSG.created(paths.name, status.pid)}\n`);
      printStarted(ctx, paths, status);
    }
    created = true;
  } finally {
    // All or nothing: an instance whose broker could not start is removed again.
    if (!created) await removeInstance(paths);
  }
}
