/** What the admin methods need from the broker process (implemented by server/runtime.ts). */
import type { DeploymentSettings } from '../../config/split.js';
import type { RuntimeState } from '../../instance/runtime-file.js';
import type { PolicyHolder } from '../../policy/policy-holder.js';
import { OpsError } from '../../shared/errors.js';
import { isRecord } from '../../shared/plain-objects.js';
import type { StatsResult, StatusResult } from '../wire.js';

/** The running instance as the admin methods see it. */
export interface AdminContext {
  readonly instance: string;
  /** Locked deployment-time settings (verified at start). */
  readonly deployment: DeploymentSettings;
  /** The live persistence policy. */
  readonly policy: PolicyHolder;
  /** Current runtime state (what runtime.json holds). */
  state(): RuntimeState;
  /** Applies `next` live (ports, log level, policy) and then persists it; all or nothing. */
  commit(next: RuntimeState): Promise<void>;
  status(): StatusResult;
  stats(): Promise<StatsResult>;
  /** Stops the broker gracefully (after the reply is sent). */
  shutdown(): void;
}

/** The params object of a request; `ADM_BAD_REQUEST` when it is not one. */
export function paramsObject(params: unknown): Record<string, unknown> {
  if (params === undefined || params === null) return {};
  if (!isRecord(params)) throw new OpsError('ADM_BAD_REQUEST', { reason: '"params" must be an object' });
  return params;
}

/** A required string param. */
export function stringParam(params: Record<string, unknown>, key: string): string {
  const value = params[key];
  if (typeof value !== 'string' || value === '') throw new OpsError('ADM_BAD_REQUEST', { reason: `param "${key}" must be a non-empty string` });
  return value;
}

/** An optional string-array param. */
export function stringArrayParam(params: Record<string, unknown>, key: string): string[] | undefined {
  const value = params[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new OpsError('ADM_BAD_REQUEST', { reason: `param "${key}" must be an array of strings` });
  }
  return value as string[];
}

/** An optional array-of-string-arrays param (repeatable flag groups). */
export function groupsParam(params: Record<string, unknown>, key: string): string[][] | undefined {
  const value = params[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((g) => Array.isArray(g) && g.every((v) => typeof v === 'string'))) {
    throw new OpsError('ADM_BAD_REQUEST', { reason: `param "${key}" must be an array of string arrays` });
  }
  return value as string[][];
}
