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

/** Each kind's definition (the `satisfies` checks that each reads and applies its own request). */
const DEFINITIONS = {
  'persist.update': persistUpdate,
  'broker.update': brokerUpdate,
  'log-level.set': logLevelSet,
  'limits.set': limitsSet,
  'resource.apply': resourceApply,
  'resource.delete': resourceDelete,
} satisfies { readonly [K in ChangeKind]: ChangeDefinition<Extract<ChangeRequest, { kind: K }>> };

/** The definition of a request's kind (kinds and requests correspond by construction of {@link DEFINITIONS}). */
const definitionOf = (kind: ChangeKind): ChangeDefinition<ChangeRequest> => DEFINITIONS[kind];

const isChangeKind = (kind: unknown): kind is ChangeKind => typeof kind === 'string' && Object.hasOwn(DEFINITIONS, kind);

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
  if (!isChangeKind(kind)) throw new OpsError('ADM_BAD_REQUEST', { reason: `"kind" must be one of ${Object.keys(DEFINITIONS).join(', ')}` });
  return definitionOf(kind).parse({ kind, ...fields });
}

/** The state after a change, and what the change touches. */
export interface AppliedChange {
  readonly state: RuntimeState;
  readonly touches: ReadonlySet<Touch>;
}

/** Applies `request` to `state` (pure: `state` is not modified); throws the change's coded refusal. */
export function applyChange(state: RuntimeState, request: ChangeRequest, env: ChangeEnv): AppliedChange {
  const definition = definitionOf(request.kind);
  return { state: definition.apply(state, request, env), touches: new Set(definition.touches(request)) };
}
