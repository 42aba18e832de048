/** What the admin methods need from the broker process (implemented by server/runtime.ts). */
import type { BackendAddress } from '../../config/backend-address.js';
import type { ChangeRequest } from '../../config/changes/runtime-change.js';
import type { RuntimeState } from '../../config/runtime-state.js';
import type { DeploymentSettings } from '../../config/split.js';
import type { PolicyHolder } from '../../policy/policy-holder.js';
import type { StatsResult, StatusResult } from '../wire.js';

/** The running instance as the admin methods see it. */
export interface AdminContext {
  readonly instance: string;
  /** The local topology this broker is a frontend of (`ops create --backend local`): its resources carry that instance's name. */
  readonly topologyInstance?: string;
  /** The cluster backend this broker runs on as a frontend; absent for a standalone broker. */
  readonly backend?: BackendAddress;
  /** Locked deployment-time settings (verified at start). */
  readonly deployment: DeploymentSettings;
  /** The live persistence policy. */
  readonly policy: PolicyHolder;
  /** Current runtime state (what runtime.json holds). */
  state(): RuntimeState;
  /** Applies a change: validated, written to runtime.json, then live; all or nothing. Resolves with the new state. */
  change(request: ChangeRequest): Promise<RuntimeState>;
  status(): StatusResult;
  stats(): Promise<StatsResult>;
  /** Stops the broker gracefully (after the reply is sent). */
  shutdown(): void;
}
