/** `limits.set`: the ops-only abuse limits. */
import { LIMIT_KEYS, parseLimitArgs, updateConnectionLimits, type LimitArgs, type LimitValues } from '../connection-limits.js';
import { OpsError } from '../../shared/errors.js';
import type { ChangeDefinition } from './change.js';
import { objectParam, onlyKnownParams } from './request-fields.js';

/** New values of some limits (the others keep theirs). */
export interface LimitsSetRequest {
  readonly v: 1;
  readonly kind: 'limits.set';
  readonly limits: LimitValues;
}

/** The request of `ops broker limits set` from its flags; `CFG_FLAG_INVALID` names a bad one. */
export function limitsSetRequest(args: LimitArgs): LimitsSetRequest {
  return { v: 1, kind: 'limits.set', limits: parseLimitArgs(args) };
}

/** The `limits.set` change (each value range-checked as the flags are). */
export const limitsSet: ChangeDefinition<LimitsSetRequest> = {
  parse(fields) {
    onlyKnownParams(fields, ['kind', 'limits']);
    const raw = objectParam(fields, 'limits') ?? {};
    onlyKnownParams(raw, LIMIT_KEYS);
    const limits: LimitValues = {};
    for (const key of LIMIT_KEYS) {
      const value = raw[key];
      if (value === undefined) continue;
      if (typeof value !== 'number') throw new OpsError('ADM_BAD_REQUEST', { reason: `limit "${key}" must be a number` });
      limits[key] = value;
    }
    return { v: 1, kind: 'limits.set', limits };
  },
  apply: (state, request) => ({ ...state, limits: updateConnectionLimits(state.limits ?? {}, request.limits) }),
  touches: () => ['limits'],
};
