/** `ops broker listener|authn|authz apply|show|list|delete`: stored, validated, applied live. */
import { readConfigFile } from '../../../config/read-file.js';
import { resourceApplyRequest, resourceDeleteRequest } from '../../../config/changes/resources.js';
import { COLLECTION_OF, findResource, getResource, SUB_KIND_LABEL, type SubResourceKind } from '../../../config/resources.js';
import type { ListenerProperties } from '../../../config/types.js';
import { subResourceView, type ResourceView } from '../../../config/resource-view.js';
import type { InstancePaths } from '../../../instance/layout.js';
import type { CliContext } from '../../context.js';
import { MSG } from '../../messages.js';
import { findInstance, storedSettings } from '../../lib/instance.js';
import { printValue, type OutputFormat } from '../../lib/output.js';
import { confirmOrRefuse } from '../../lib/prompts.js';
import { changeRuntime } from '../../lib/apply-runtime-change.js';
import { missingReferences, type MissingReference } from '../../lib/listener-references.js';
import { automaticTlsOf } from './listener-tls.js';
import { listenerPortStates, printPortStates } from './listener-state.js';

/** Inputs of the resource commands. */
export interface ResourceInput {
  readonly kind: SubResourceKind;
  readonly instance: string;
  readonly name: string;
  readonly configFile?: string;
  readonly output: OutputFormat;
  readonly yes?: boolean;
}

/**
 * The listener `ops create` makes. AIO warns not to delete the default resources
 * (learn.microsoft.com/azure/iot-operations/manage-mqtt-broker/overview-broker, "Default Broker resource").
 */
const DEFAULT_LISTENER = 'default';

function portsOf(props: ListenerProperties | undefined): string {
  const ports = (props?.ports ?? []).map((p) => String(p.port));
  return ports.length > 0 ? ports.join(', ') : 'none';
}

/**
 * Deleting or changing the `default` listener cuts off the clients that use it: say which, and ask
 * (on a terminal, unless --yes). A delete without a terminal needs --yes (see {@link confirmOrRefuse});
 * a change without one goes ahead with the warning, as scripts that re-apply it rely on.
 * @returns false when the user said no.
 */
export async function confirmDefaultListener(
  ctx: CliContext,
  paths: InstancePaths,
  kind: SubResourceKind,
  name: string,
  action: 'delete' | 'change',
  yes: boolean,
): Promise<boolean> {
  if (kind !== 'listener' || name !== DEFAULT_LISTENER) return true;
  const ports = portsOf(findResource((await storedSettings(paths)).state.listeners, name));
  const loss = MSG.defaultListenerLoss(action, ports);
  if (yes) return true;
  if (action === 'change' && !ctx.interactive) {
    ctx.stderr.write(`${ctx.chalk.yellow('warning:')} ${loss}\n`);
    return true;
  }
  return confirmOrRefuse(ctx, `${loss} Continue?`);
}

/** Creates or replaces a resource: live when the broker runs, else in the stored state. */
export async function putResource(
  ctx: CliContext,
  paths: InstancePaths,
  kind: SubResourceKind,
  name: string,
  properties: unknown,
  source: string,
): Promise<ResourceView> {
  const { state } = await changeRuntime(ctx, paths, resourceApplyRequest(kind, name, properties, source));
  return subResourceView(kind, paths.name, name, state[COLLECTION_OF[kind]][name] ?? {});
}

/** Deletes a resource: live when the broker runs, else in the stored state. */
export async function removeResource(ctx: CliContext, paths: InstancePaths, kind: SubResourceKind, name: string): Promise<void> {
  await changeRuntime(ctx, paths, resourceDeleteRequest(kind, name));
}

/** Runs `apply`: validates the file (properties wrapper accepted) and creates or replaces. */
export async function runResourceApply(input: ResourceInput & { configFile: string }, ctx: CliContext): Promise<void> {
  const paths = await findInstance(ctx, input.instance);
  const parsed = await readConfigFile(input.configFile);
  if (!(await confirmDefaultListener(ctx, paths, input.kind, input.name, 'change', input.yes === true))) {
    ctx.stderr.write(`${MSG.cancelled}\n`);
    return;
  }
  printValue(ctx, await putResource(ctx, paths, input.kind, input.name, parsed.value, input.configFile), input.output);
  if (input.kind === 'listener') await warnMissing(ctx, paths, (m) => m.listener === input.name);
}

/**
 * Warns (stderr, exit stays 0) about what stored listeners name that does not exist: the apply is
 * kept and works once the resource or secret is created, but until then the port refuses clients or
 * is not served.
 */
async function warnMissing(ctx: CliContext, paths: InstancePaths, which: (m: MissingReference) => boolean): Promise<void> {
  const { state } = await storedSettings(paths);
  for (const [name, props] of Object.entries(state.listeners)) {
    for (const m of missingReferences(name, props, state, paths.secrets).filter(which)) ctx.stderr.write(`${ctx.chalk.yellow('warning:')} ${m.message}\n`);
  }
}

/** Runs `show`. */
export async function runResourceShow(input: ResourceInput, ctx: CliContext): Promise<void> {
  const paths = await findInstance(ctx, input.instance);
  const { state } = await storedSettings(paths);
  const name = input.name;
  if (input.kind !== 'listener') {
    printValue(ctx, subResourceView(input.kind, paths.name, name, getResource<object>(input.kind, state[COLLECTION_OF[input.kind]], name, paths.name)), input.output);
    return;
  }
  const props = getResource(input.kind, state.listeners, name, paths.name);
  const view = subResourceView(input.kind, paths.name, name, props);
  // Outside the AIO resource: each port's state, and for Automatic TLS where the instance CA is.
  const portStates = await listenerPortStates(paths, name, props, state);
  const tls = automaticTlsOf(paths, name, props);
  printValue(ctx, input.output === 'table' ? view : { ...view, portStates, ...(tls !== undefined ? { automaticTls: tls } : {}) }, input.output);
  if (input.output === 'table') {
    printPortStates(ctx, portStates);
    if (tls !== undefined) ctx.stderr.write(`CA certificate of Automatic TLS ports (trust it in clients): ${tls.caCertificate}\n`);
  }
}

/** Runs `list`. */
export async function runResourceList(input: Omit<ResourceInput, 'name'>, ctx: CliContext): Promise<void> {
  const paths = await findInstance(ctx, input.instance);
  const { state } = await storedSettings(paths);
  const views = Object.entries(state[COLLECTION_OF[input.kind]]).map(([name, props]) => subResourceView(input.kind, paths.name, name, props));
  printValue(ctx, views, input.output);
}

/** Runs `delete` (asks first on a terminal unless --yes). */
export async function runResourceDelete(input: ResourceInput, ctx: CliContext): Promise<void> {
  const paths = await findInstance(ctx, input.instance);
  const name = input.name;
  const { state } = await storedSettings(paths);
  const collection = COLLECTION_OF[input.kind];
  getResource<object>(input.kind, state[collection], name, paths.name);
  const confirmed =
    input.yes === true ||
    (input.kind === 'listener' && name === DEFAULT_LISTENER
      ? await confirmDefaultListener(ctx, paths, input.kind, name, 'delete', false)
      : await confirmOrRefuse(ctx, MSG.confirmDeleteResource(SUB_KIND_LABEL[input.kind].toLowerCase(), name)));
  if (!confirmed) {
    ctx.stderr.write(`${ctx.chalk.yellow('warning:')} ${MSG.deletionCancelled}\n`);
    return;
  }
  await removeResource(ctx, paths, input.kind, name);
  if (input.kind !== 'listener') await warnMissing(ctx, paths, (m) => m.name === name && m.field === `${input.kind}Ref`);
}
