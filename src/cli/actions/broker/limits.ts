/**
 * `ops broker limits show|set`: the ops-only abuse limits (per-address connections and rate, the
 * CONNECT size accepted before authentication, the failed-authentication backoff, bytes queued per
 * session, subscriptions per client, topic levels, partial packets). Live over the admin socket when
 * the broker runs (connections already open stay open; the session queue bound applies to every
 * session's next message), else saved for the next start.
 */
import { limitsView } from '../../../admin/methods/limits.js';
import { limitsSetRequest } from '../../../config/changes/limits.js';
import type { LimitArgs } from '../../../config/connection-limits.js';
import type { CliContext } from '../../context.js';
import { findInstance } from '../../lib/instance.js';
import { printSettings, type OutputFormat } from '../../lib/output.js';
import { changeRuntime, readRuntime } from '../../lib/apply-runtime-change.js';

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
  const read = await readRuntime(paths, 'limits.get');
  if (read.live) {
    print(ctx, true, (read.reply as { limits: Record<string, number> }).limits, input.output);
    return;
  }
  print(ctx, false, limitsView(read.stored.state.limits ?? {}, read.stored.deployment), input.output);
}

/** Runs `ops broker limits set`. */
export async function runLimitsSet(input: LimitsSetInput, ctx: CliContext): Promise<void> {
  const paths = await findInstance(ctx, input.instance);
  const { instance: _i, output, ...args } = input;
  const { state, deployment, live } = await changeRuntime(ctx, paths, limitsSetRequest(args));
  print(ctx, live, limitsView(state.limits ?? {}, deployment), output);
}
