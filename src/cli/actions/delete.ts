/** `ops delete`: stop the broker and remove the instance, asking first on a terminal. */
import { removeInstance } from '../../instance/instances.js';
import type { CliContext } from '../context.js';
import { MSG } from '../messages.js';
import { findInstance, brokerRunState } from '../lib/instance.js';
import { withSpinner } from '../lib/output.js';
import { confirmOrRefuse } from '../lib/prompts.js';
import { stopBroker } from '../lib/spawn-broker.js';
import { readTopologyPlan, topologyPaths } from '../../instance/topology-file.js';
import { stopTopology, sweepMembers } from '../lib/spawn-topology.js';

/** Inputs of `ops delete`. */
export interface DeleteInput {
  readonly instance: string;
  readonly yes: boolean;
}

/** Runs `ops delete`. */
export async function runDelete(input: DeleteInput, ctx: CliContext): Promise<void> {
  const paths = await findInstance(ctx, input.instance);
  if (!input.yes && !(await confirmOrRefuse(ctx, MSG.confirmDelete(paths.name)))) {
    ctx.stderr.write(`${ctx.chalk.yellow('warning:')} ${MSG.deletionCancelled}\n`);
    return;
  }
  const state = await brokerRunState(paths);
  // A local topology: the supervisor stops every member; members a killed supervisor left are swept.
  const local = (await readTopologyPlan(topologyPaths(paths).plan).catch(() => undefined)) !== undefined;
  if (state.running && state.pid !== undefined) {
    const pid = state.pid;
    await withSpinner(ctx, MSG.stopping(paths.name), () => (local ? stopTopology(paths, pid) : stopBroker(paths, pid)));
  } else if (local) await sweepMembers(paths);
  await removeInstance(paths);
  ctx.stdout.write(`${MSG.deleted(paths.name)}\n`);
}
