/**
 * Every runtime change, read and applied in one place. A {@link ChangeRequest} is what the CLI sends
 * over the admin socket to a running broker (`runtime.change`), and what it applies itself to the
 * stored state of a stopped one: either way {@link applyChange} makes the next state.
 */
import { OpsError } from '../../shared/errors.js';
import { isRecord } from '../../shared/plain-objects.js';
import type { RuntimeState } from '../runtime-state.js';
import { brokerUpdate, logLevelSet, type BrokerUpdateRequest, type LogLevelRequest } from './broker-settings.js';
import { CHANGE_REQUEST_VERSION, type ChangeDefinition, type ChangeEnv, type Touch } from './change.js';
import { limitsSet, type LimitsSetRequest } from './limits.js';
import { persistUpdate, type PersistUpdateRequest } from './persist-update.js';
import { resourceApply, resourceDelete, type ResourceApplyRequest, type ResourceDeleteRequest } from './resources.js';

/** A typed, versioned runtime change request. */
export type ChangeRequest = PersistUpdateRequest | BrokerUpdateRequest | LogLevelRequest | LimitsSetRequest | ResourceApplyRequest | ResourceDeleteRequest;

/** The kinds of change. */
export type ChangeKind = ChangeRequest['kind'];

const PARSERS: Readonly<Record<ChangeKind, (fields: Record<string, unknown>) => ChangeRequest>> = {
  'persist.update': persistUpdate.parse,
  'broker.update': brokerUpdate.parse,
  'log-level.set': logLevelSet.parse,
  'limits.set': limitsSet.parse,
  'resource.apply': resourceApply.parse,
  'resource.delete': resourceDelete.parse,
};

const isChangeKind = (kind: unknown): kind is ChangeKind => typeof kind === 'string' && Object.hasOwn(PARSERS, kind);

/**
 * Reads a change request that came over the admin socket: `ADM_VERSION_UNSUPPORTED` for another
 * version, `ADM_BAD_REQUEST` naming what is wrong with its shape. Its meaning (schema, ranges,
 * references) is checked when it is applied.
 */
export function parseChangeRequest(value: unknown): ChangeRequest {
  if (!isRecord(value)) throw new OpsError('ADM_BAD_REQUEST', { reason: 'a change request must be an object' });
  const { v, kind, ...fields } = value;
  if (typeof v !== 'number') throw new OpsError('ADM_BAD_REQUEST', { reason: 'missing change request version "v"' });
  if (v !== CHANGE_REQUEST_VERSION) throw new OpsError('ADM_VERSION_UNSUPPORTED', { version: v, supported: CHANGE_REQUEST_VERSION });
  if (!isChangeKind(kind)) throw new OpsError('ADM_BAD_REQUEST', { reason: `"kind" must be one of ${Object.keys(PARSERS).join(', ')}` });
  return PARSERS[kind]({ kind, ...fields });
}

/** The state after a change, and what the change touches. */
export interface AppliedChange {
  readonly state: RuntimeState;
  readonly touches: ReadonlySet<Touch>;
}

function run<R>(definition: ChangeDefinition<R>, state: RuntimeState, request: R, env: ChangeEnv): AppliedChange {
  return { state: definition.apply(state, request, env), touches: new Set(definition.touches(request)) };
}

/** Applies `request` to `state` (pure: `state` is not modified); throws the change's coded refusal. */
export function applyChange(state: RuntimeState, request: ChangeRequest, env: ChangeEnv): AppliedChange {
  switch (request.kind) {
    case 'persist.update':
      return run(persistUpdate, state, request, env);
    case 'broker.update':
      return run(brokerUpdate, state, request, env);
    case 'log-level.set':
      return run(logLevelSet, state, request, env);
    case 'limits.set':
      return run(limitsSet, state, request, env);
    case 'resource.apply':
      return run(resourceApply, state, request, env);
    case 'resource.delete':
      return run(resourceDelete, state, request, env);
  }
}
