/** `ops broker listener port add|remove` and `ops broker authn method add`, as in `az iot ops`. */
import { addMethods, type MethodAddArgs } from '../../../config/authn-method.js';
import { addPort, removePort, type PortAddArgs } from '../../../config/listener-port.js';
import { OpsError } from '../../../shared/errors.js';
import { findResource } from '../../../config/resources.js';
import type { RuntimeState } from '../../../config/runtime-state.js';
import type { CliContext } from '../../context.js';
import { MSG } from '../../messages.js';
import { findInstance, storedSettings } from '../../lib/instance.js';
import { printValue, type OutputFormat } from '../../lib/output.js';
import { confirmOrRefuse } from '../../lib/prompts.js';
import { confirmDefaultListener, putResource, removeResource } from './resources.js';

/** Common inputs. */
export interface SubCommandInput {
  readonly instance: string;
  readonly name: string;
  readonly output: OutputFormat;
  /** Print the resulting properties without applying them. */
  readonly showConfig?: boolean;
  readonly yes?: boolean;
}

/**
 * Builds a resource's new properties from the stored ones (undefined when there are none), then
 * prints them (`--show-config`) or applies them.
 */
async function upsertWith<P>(
  input: SubCommandInput,
  ctx: CliContext,
  kind: 'listener' | 'authentication',
  build: (state: RuntimeState) => P,
  what: string,
): Promise<void> {
  const paths = await findInstance(ctx, input.instance);
  const properties = build((await storedSettings(paths)).state);
  if (input.showConfig) {
    printValue(ctx, properties, input.output);
    return;
  }
  if (!(await confirmDefaultListener(ctx, paths, kind === 'listener' ? 'listener' : 'authentication', input.name, 'change', input.yes === true))) {
    ctx.stderr.write(`${MSG.cancelled}\n`);
    return;
  }
  printValue(ctx, await putResource(ctx, paths, kind, input.name, properties, what), input.output);
}

/** Runs `listener port add`: upserts the port by number, creating the listener if needed. */
export async function runPortAdd(input: SubCommandInput & { args: PortAddArgs }, ctx: CliContext): Promise<void> {
  await upsertWith(input, ctx, 'listener', (state) => addPort(findResource(state.listeners, input.name), input.args), 'the new listener port');
}

/** Runs `listener port remove`. */
export async function runPortRemove(input: SubCommandInput & { port: number }, ctx: CliContext): Promise<void> {
  const paths = await findInstance(ctx, input.instance);
  const existing = findResource((await storedSettings(paths)).state.listeners, input.name);
  if (!existing) throw new OpsError('CFG_RESOURCE_NOT_FOUND', { kind: 'Listener', name: input.name, instance: paths.name });
  const outcome = removePort(existing, input.port);
  if (outcome.kind !== 'updated') ctx.stderr.write(`${ctx.chalk.yellow('warning:')} ${outcome.warning}\n`);
  if (outcome.kind === 'unchanged') return;
  const confirmed =
    input.yes === true ||
    (input.name === 'default'
      ? await confirmDefaultListener(ctx, paths, 'listener', input.name, outcome.kind === 'deleteListener' ? 'delete' : 'change', false)
      : await confirmOrRefuse(ctx, 'Continue?'));
  if (!confirmed) {
    ctx.stderr.write(`${ctx.chalk.yellow('warning:')} ${MSG.deletionCancelled}\n`);
    return;
  }
  if (outcome.kind === 'deleteListener') {
    await removeResource(ctx, paths, 'listener', input.name);
    return;
  }
  printValue(ctx, await putResource(ctx, paths, 'listener', input.name, outcome.properties, 'the listener without the port'), input.output);
}

/** Runs `authn method add`: appends methods, creating the authentication if needed. */
export async function runMethodAdd(input: SubCommandInput & { args: MethodAddArgs }, ctx: CliContext): Promise<void> {
  await upsertWith(input, ctx, 'authentication', (state) => addMethods(findResource(state.authentications, input.name), input.args), 'the new authentication methods');
}
