/**
 * The state of each port of a listener, for `ops broker listener show`: served (and where), skipped
 * by the running broker (and why), or not served because the broker is stopped; with what the port
 * names that does not exist (see lib/listener-references.ts).
 */
import type { StatusResult } from '../../../admin/wire.js';
import type { ListenerProperties } from '../../../config/types.js';
import type { InstancePaths } from '../../../instance/layout.js';
import type { RuntimeState } from '../../../config/runtime-state.js';
import type { CliContext } from '../../context.js';
import { admin, brokerRunState } from '../../lib/instance.js';
import { missingReferences } from '../../lib/listener-references.js';
import { portUrl } from './start.js';

/** One port's state. */
export interface PortState {
  readonly port: number;
  /** `served`: the running broker listens on it; `skipped`: the running broker does not serve it (see `reason`); `stopped`: the broker is not running. */
  readonly state: 'served' | 'skipped' | 'stopped';
  /** Where clients connect (served ports). */
  readonly url?: string;
  /** Why the port is not served (skipped ports). */
  readonly reason?: string;
  /** What the port names that does not exist (it refuses clients, or is not served, until created). */
  readonly missing: readonly string[];
}

/** The state of every port of listener `name` (stored properties `props`). */
export async function listenerPortStates(paths: InstancePaths, name: string, props: ListenerProperties, state: RuntimeState): Promise<PortState[]> {
  const live = (await brokerRunState(paths)).running ? ((await admin(paths, 'status').catch(() => undefined)) as StatusResult | undefined) : undefined;
  const missing = missingReferences(name, props, state, paths.secrets);
  return props.ports.map((p): PortState => {
    const base = { port: p.port, missing: missing.filter((m) => m.port === p.port).map((m) => m.message) };
    if (live === undefined) return { ...base, state: 'stopped' };
    const open = live.ports.find((o) => o.listener === name && o.configuredPort === p.port);
    if (open !== undefined) return { ...base, state: 'served', url: portUrl(open) };
    const skipped = live.skippedPorts.find((s) => s.listener === name && s.port === p.port);
    return { ...base, state: 'skipped', reason: skipped?.reason ?? 'not open (the broker has not applied it)' };
  });
}

/** Prints the port states as lines (stderr, beside a `-o table`). */
export function printPortStates(ctx: CliContext, states: readonly PortState[]): void {
  for (const s of states) {
    const what = s.state === 'served' ? `served at ${s.url ?? ''}` : s.state === 'skipped' ? `skipped: ${s.reason ?? ''}` : 'not served: the broker is stopped';
    ctx.stderr.write(`port ${s.port}: ${what}\n`);
    for (const m of s.missing) ctx.stderr.write(`  missing: ${m}\n`);
  }
}
