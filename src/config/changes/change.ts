/**
 * What every runtime change is made of: a typed, versioned request, and a pure function from the
 * current {@link RuntimeState} and the request to the next state (or a coded refusal), with what the
 * change touches so that a running broker recomputes only that.
 */
import type { RuntimeState } from '../runtime-state.js';
import type { DeploymentSettings } from '../split.js';

/** Version of the change requests this build reads and writes. */
export const CHANGE_REQUEST_VERSION = 1;

/** What a change can touch in a running broker. */
export type Touch =
  /** The listener ports (opened and closed to match). */
  | 'listeners'
  /** The security of the listener ports (authentication and authorization). */
  | 'security'
  /** The ops-only abuse limits. */
  | 'limits'
  /** The log level. */
  | 'logLevel'
  /** The persistence policy. */
  | 'persistence'
  /** The Prometheus port. */
  | 'metrics';

/** What a change is applied with besides the state. */
export interface ChangeEnv {
  /** The locked deployment-time settings (the runtime settings are checked joined with them). */
  readonly deployment: DeploymentSettings;
  /** The instance name, for messages. */
  readonly instance: string;
}

/** One kind of change: how its request is read, applied, and what it touches. */
export interface ChangeDefinition<R> {
  /** Reads the request's fields (all but `v`); `ADM_BAD_REQUEST` names a field of the wrong shape. */
  parse(fields: Record<string, unknown>): R;
  /** The next state, or a coded refusal; `state` is not modified. */
  apply(state: RuntimeState, request: R, env: ChangeEnv): RuntimeState;
  /** What a running broker recomputes after the change. */
  touches(request: R): readonly Touch[];
}
