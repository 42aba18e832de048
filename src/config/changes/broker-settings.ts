/** `broker.update` and `log-level.set`: the runtime half of the Broker properties. */
import { runtimeUpdateFromProperties } from '../resources.js';
import { joinBrokerProperties } from '../split.js';
import { assertValid } from '../validate.js';
import type { ChangeDefinition } from './change.js';
import { onlyKnownParams, stringParam } from './request-fields.js';

/** A whole Broker properties document; only its runtime half may differ from the locked settings. */
export interface BrokerUpdateRequest {
  readonly v: 1;
  readonly kind: 'broker.update';
  /** Checked against the Broker schema when applied. */
  readonly properties: unknown;
}

/** A new log level. */
export interface LogLevelRequest {
  readonly v: 1;
  readonly kind: 'log-level.set';
  /** Checked against the Broker schema when applied. */
  readonly level: string;
}

/** The request of `ops broker log-level set`. */
export function logLevelRequest(level: string): LogLevelRequest {
  return { v: 1, kind: 'log-level.set', level };
}

/** The `broker.update` change: `CFG_SETTING_LOCKED` names every locked setting it would change. */
export const brokerUpdate: ChangeDefinition<BrokerUpdateRequest> = {
  parse(fields) {
    onlyKnownParams(fields, ['kind', 'properties']);
    return { v: 1, kind: 'broker.update', properties: fields['properties'] };
  },
  apply(state, request, env) {
    return { ...state, broker: runtimeUpdateFromProperties(env.deployment, request.properties, 'the requested broker properties') };
  },
  touches: () => ['logLevel', 'persistence', 'metrics'],
};

/** The `log-level.set` change. */
export const logLevelSet: ChangeDefinition<LogLevelRequest> = {
  parse(fields) {
    onlyKnownParams(fields, ['kind', 'level']);
    return { v: 1, kind: 'log-level.set', level: stringParam(fields, 'level') };
  },
  apply(state, request, env) {
    const broker = joinBrokerProperties(env.deployment, state.broker);
    const diagnostics = { ...broker.diagnostics, logs: { ...broker.diagnostics?.logs, level: request.level } };
    const valid = assertValid('broker', { ...broker, diagnostics }, 'the requested log level');
    return { ...state, broker: { ...state.broker, ...(valid.diagnostics !== undefined ? { diagnostics: valid.diagnostics } : {}) } };
  },
  touches: () => ['logLevel'],
};
