/** `ops broker show|list`: the Broker resource as AIO prints it. */
import { existsSync } from 'node:fs';
import { brokerView, BROKER_NAME, withBackend, withCardinality, type ResourceView } from '../../../config/resource-view.js';
import { topologyPaths } from '../../../instance/topology-file.js';
import { readBackendFile } from '../../../instance/backend-file.js';
import { joinBrokerProperties } from '../../../config/split.js';
import { listInstances } from '../../../instance/instances.js';
import { instancePaths, type InstancePaths } from '../../../instance/layout.js';
import { OpsError } from '../../../shared/errors.js';
import type { CliContext } from '../../context.js';
import { readRuntime } from '../../lib/apply-runtime-change.js';
import { findInstance } from '../../lib/instance.js';
import { INSTANCE_RESOURCE_COLUMNS, printValue, RESOURCE_COLUMNS, type OutputFormat } from '../../lib/output.js';

/** Inputs of show/list. */
export interface ShowInput {
  readonly instance: string;
  readonly name?: string;
  readonly output: OutputFormat;
  /** `list --all`: the brokers of every instance under $OPS_HOME. */
  readonly all?: boolean;
}

/**
 * The Broker resource of an instance: live from the broker (with the backend it runs on), else from
 * the stored files (with the backend set at create); either way with `cardinality: { applied, note }`.
 */
export async function brokerResource(paths: InstancePaths): Promise<ResourceView> {
  const read = await readRuntime(paths, 'broker.get', { storedIfUnanswered: true });
  if (read.live) return read.reply as ResourceView;
  const backend = await readBackendFile(paths.backend);
  const view = withBackend(brokerView(paths.name, joinBrokerProperties(read.stored.deployment, read.stored.state.broker)), backend);
  return withCardinality(view, existsSync(topologyPaths(paths).plan) ? 'local' : backend !== undefined ? 'frontend' : 'embedded');
}

/** Runs `ops broker show`. */
export async function runShow(input: ShowInput, ctx: CliContext): Promise<void> {
  const paths = await findInstance(ctx, input.instance);
  if ((input.name ?? BROKER_NAME) !== BROKER_NAME) {
    throw new OpsError('CFG_RESOURCE_NOT_FOUND', { kind: 'Broker', name: input.name ?? '', instance: paths.name });
  }
  printValue(ctx, await brokerResource(paths), input.output);
}

/** Runs `ops broker list`. */
export async function runList(input: ShowInput, ctx: CliContext): Promise<void> {
  const names = input.all ? await listInstances(ctx.home) : [(await findInstance(ctx, input.instance)).name];
  const views = await Promise.all(names.map((name) => brokerResource(instancePaths(ctx.home, name))));
  // --all spans instances: their rows are told apart by the instance (one instance's list keeps az's columns).
  printValue(ctx, views, input.output, input.all === true ? INSTANCE_RESOURCE_COLUMNS : RESOURCE_COLUMNS);
}
