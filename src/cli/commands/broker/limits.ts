/**
 * `ops broker limits show|set`: the ops-only abuse limits (per-address connections and rate, the
 * CONNECT size accepted before authentication, the failed-authentication backoff, bytes queued per
 * session, subscriptions per client, topic levels, partial packets). Live over the admin socket when
 * the broker runs (connections already open stay open; the session queue bound applies to every
 * session's next message), else saved for the next start.
 */
import { limitsView } from '../../../admin/methods/limits.js';
import { readConnectionLimits, updateConnectionLimits, type LimitArgs } from '../../../config/connection-limits.js';
import { OpsError, reasonOf } from '../../../shared/errors.js';
import type { CliContext } from '../../context.js';
import { MSG } from '../../messages.js';
import { admin, findInstance, runState, saveState, storedSettings } from '../../lib/instance.js';
import { printSettings, type OutputFormat } from '../../lib/output.js';

/** Inputs of `limits set`. */
export interface LimitsSetInput extends LimitArgs {
  readonly instance: string;
  readonly output: OutputFormat | 'text';
}

/** Inputs of `limits show`. */
export interface LimitsShowInput {
  readonly instance: string;
  readonly output: OutputFormat | 'text';
}

function print(ctx: CliContext, live: boolean, limits: Record<string, number>, output: OutputFormat | 'text'): void {
  if (output !== 'text') {
    printSettings(ctx, { live, limits }, output);
    return;
  }
  const show = (n: number | undefined, unit: string): string => (n === undefined || n === 0 ? 'unlimited' : `${n}${unit}`);
  ctx.stdout.write(
    [
      `connections per address   ${show(limits['maxConnectionsPerAddress'], '')}`,
      `connection rate per address ${show(limits['maxConnectionRatePerAddress'], '/s')}`,
      `CONNECT size before auth  ${show(limits['maxConnectPacketBytes'], ' bytes')}`,
      `failed logins per address ${limits['maxAuthFailuresPerAddress'] === 0 ? 'off' : `${limits['maxAuthFailuresPerAddress']} in ${limits['authFailureWindowSeconds']} s, then blocked ${limits['authBlockSeconds']} s (doubling on repeat)`}`,
      `queued bytes per session  ${show(limits['maxSessionQueueBytes'], ' bytes')}`,
      `subscriptions per client  ${show(limits['maxSubscriptionsPerClient'], '')}`,
      `topic levels              ${show(limits['maxTopicLevels'], '')}`,
      `partial packet timeout    ${show(limits['partialPacketTimeoutSeconds'], ' s')}`,
      `partial packet bytes      ${show(limits['maxPartialPacketBytes'], ' bytes')} (all connections)`,
      live ? '' : '(broker stopped: stored settings)',
    ]
      .filter((l) => l !== '')
      .join('\n') + '\n',
  );
}

/** Runs `ops broker limits show`. */
export async function runLimitsShow(input: LimitsShowInput, ctx: CliContext): Promise<void> {
  const paths = await findInstance(ctx, input.instance);
  if ((await runState(paths)).running) {
    const { limits } = (await admin(paths, 'limits.get')) as { limits: Record<string, number> };
    print(ctx, true, limits, input.output);
    return;
  }
  const { deployment, state } = await storedSettings(paths);
  print(ctx, false, limitsView(readStored(state.limits, paths.runtime), deployment), input.output);
}

function readStored(raw: unknown, path: string): ReturnType<typeof readConnectionLimits> {
  try {
    return readConnectionLimits(raw);
  } catch (err) {
    throw new OpsError('INST_CORRUPT', { path, reason: reasonOf(err) });
  }
}

/** Runs `ops broker limits set`. */
export async function runLimitsSet(input: LimitsSetInput, ctx: CliContext): Promise<void> {
  const paths = await findInstance(ctx, input.instance);
  const { instance: _i, output, ...args } = input;
  if ((await runState(paths)).running) {
    const { limits } = (await admin(paths, 'limits.set', args)) as { limits: Record<string, number> };
    print(ctx, true, limits, output);
    return;
  }
  const { deployment, state } = await storedSettings(paths);
  const limits = updateConnectionLimits(readStored(state.limits, paths.runtime), args);
  await saveState(paths, { ...state, limits: { ...limits } });
  ctx.stderr.write(`${MSG.offlineApplied}\n`);
  print(ctx, false, limitsView(limits, deployment), output);
}
