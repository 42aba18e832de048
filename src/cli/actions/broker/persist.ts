/** `ops broker persist update|show`: the persistence policy, changed live over the admin socket. */
import { persistUpdateRequest } from '../../../config/changes/persist-update.js';
import { assertPersistenceEnabled, type PersistUpdateArgs } from '../../../config/persist-flags.js';
import { brokerView, BROKER_NAME } from '../../../config/resource-view.js';
import { joinBrokerProperties } from '../../../config/split.js';
import { OpsError } from '../../../shared/errors.js';
import type { CliContext } from '../../context.js';
import { findInstance, storedDeployment } from '../../lib/instance.js';
import { printSettings, printValue, type OutputFormat } from '../../lib/output.js';
import { changeRuntime, readRuntime } from '../../lib/apply-runtime-change.js';

/** Inputs of persist update. */
export interface PersistUpdateInput extends PersistUpdateArgs {
  readonly instance: string;
  readonly name: string;
  readonly output: OutputFormat;
}

/** Inputs of persist show. */
export interface PersistShowInput {
  readonly instance: string;
  readonly output: OutputFormat;
}

function checkName(name: string, instance: string): void {
  if (name !== BROKER_NAME) throw new OpsError('CFG_RESOURCE_NOT_FOUND', { kind: 'Broker', name, instance });
}

/** The flags part of the input (read into a typed change request by `persistUpdateRequest`). */
export function persistArgsOf(input: PersistUpdateInput): PersistUpdateArgs {
  const { instance: _i, name: _n, output: _o, ...args } = input;
  return args;
}

/**
 * Runs `ops broker persist update`: live when the broker runs, else on the stored settings. A broker
 * without persistence is refused before the flags are read, as the AIO CLI does.
 */
export async function runPersistUpdate(input: PersistUpdateInput, ctx: CliContext): Promise<void> {
  const paths = await findInstance(ctx, input.instance);
  checkName(input.name, paths.name);
  assertPersistenceEnabled(joinBrokerProperties(await storedDeployment(paths), {}).persistence);
  const { state, deployment } = await changeRuntime(ctx, paths, persistUpdateRequest(persistArgsOf(input)));
  printValue(ctx, brokerView(paths.name, joinBrokerProperties(deployment, state.broker)), input.output);
}

/** Runs `ops broker persist show`: the live policy (or the stored one when stopped). */
export async function runPersistShow(input: PersistShowInput, ctx: CliContext): Promise<void> {
  const paths = await findInstance(ctx, input.instance);
  const read = await readRuntime(paths, 'persist.get');
  if (read.live) {
    printSettings(ctx, { live: true, ...(read.reply as Record<string, unknown>) }, input.output);
    return;
  }
  const persistence = joinBrokerProperties(read.stored.deployment, read.stored.state.broker).persistence ?? null;
  printSettings(ctx, { live: false, persistence }, input.output);
}
