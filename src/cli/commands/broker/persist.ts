/** `ops broker persist update|show`: the persistence policy, changed live over the admin socket. */
import type { PersistUpdateArgs } from '../../../config/persist-update.js';
import { updatePersistence } from '../../../config/resources.js';
import { brokerView, BROKER_NAME, type ResourceView } from '../../../config/resource-view.js';
import { joinBrokerProperties, type RuntimeBrokerSettings } from '../../../config/split.js';
import { OpsError } from '../../../shared/errors.js';
import type { CliContext } from '../../context.js';
import { MSG } from '../../messages.js';
import { admin, findInstance, runState, saveState, storedSettings } from '../../lib/instance.js';
import { printSettings, printValue, type OutputFormat } from '../../lib/output.js';

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

/** The flags part of the input, as sent on the admin socket. */
export function persistArgsOf(input: PersistUpdateInput): PersistUpdateArgs {
  const { instance: _i, name: _n, output: _o, ...args } = input;
  return args;
}

/** Runs `ops broker persist update`: live when the broker runs, else on the stored settings. */
export async function runPersistUpdate(input: PersistUpdateInput, ctx: CliContext): Promise<void> {
  const paths = await findInstance(ctx, input.instance);
  checkName(input.name, paths.name);
  const args = persistArgsOf(input);
  let view: ResourceView;
  if ((await runState(paths)).running) {
    view = ((await admin(paths, 'persist.update', args)) as { broker: ResourceView }).broker;
  } else {
    const { deployment, state } = await storedSettings(paths);
    const runtime = updatePersistence(joinBrokerProperties(deployment, state.broker as RuntimeBrokerSettings), args);
    await saveState(paths, { ...state, broker: runtime as Record<string, unknown> });
    view = brokerView(paths.name, joinBrokerProperties(deployment, runtime));
    ctx.stderr.write(`${MSG.offlineApplied}\n`);
  }
  printValue(ctx, view, input.output);
}

/** Runs `ops broker persist show`: the live policy (or the stored one when stopped). */
export async function runPersistShow(input: PersistShowInput, ctx: CliContext): Promise<void> {
  const paths = await findInstance(ctx, input.instance);
  if ((await runState(paths)).running) {
    printSettings(ctx, { live: true, ...((await admin(paths, 'persist.get')) as Record<string, unknown>) }, input.output);
    return;
  }
  const { deployment, state } = await storedSettings(paths);
  const persistence = joinBrokerProperties(deployment, state.broker as RuntimeBrokerSettings).persistence ?? null;
  printSettings(ctx, { live: false, persistence }, input.output);
}
