/**
 * Readers of the fields of a request that came over the admin socket: each returns the typed value
 * or throws `ADM_BAD_REQUEST` naming the field, so hostile input gets a clear error, never a crash.
 */
import { OpsError } from '../../shared/errors.js';
import { isRecord } from '../../shared/plain-objects.js';

function bad(reason: string): never {
  throw new OpsError('ADM_BAD_REQUEST', { reason });
}

/** The request's params as an object (absent params are an empty one). */
export function paramsObject(params: unknown): Record<string, unknown> {
  if (params === undefined || params === null) return {};
  if (!isRecord(params)) bad('"params" must be an object');
  return params;
}

/** A required non-empty string. */
export function stringParam(params: Record<string, unknown>, key: string): string {
  const value = params[key];
  if (typeof value !== 'string' || value === '') bad(`param "${key}" must be a non-empty string`);
  return value;
}

/** A required string (which may be empty). */
export function textParam(params: Record<string, unknown>, key: string): string {
  const value = params[key];
  if (typeof value !== 'string') bad(`param "${key}" must be a string`);
  return value;
}

/** An optional string array. */
export function stringArrayParam(params: Record<string, unknown>, key: string): string[] | undefined {
  const value = params[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) bad(`param "${key}" must be an array of strings`);
  return value;
}

/** An optional string array whose items are all in `allowed`. */
export function choiceArrayParam<T extends string>(params: Record<string, unknown>, key: string, allowed: readonly T[]): T[] | undefined {
  const value = stringArrayParam(params, key);
  if (value === undefined) return undefined;
  const isAllowed = (v: string): v is T => (allowed as readonly string[]).includes(v);
  if (!value.every(isAllowed)) bad(`param "${key}" must hold only ${allowed.join(', ')}`);
  return value;
}

/** An optional object. */
export function objectParam(params: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const value = params[key];
  if (value === undefined) return undefined;
  if (!isRecord(value)) bad(`param "${key}" must be an object`);
  return value;
}

/** Throws when `params` has a key not in `known` (a request this build does not understand). */
export function onlyKnownParams(params: Record<string, unknown>, known: readonly string[]): void {
  const unknown = Object.keys(params).filter((k) => !known.includes(k));
  if (unknown.length > 0) bad(`unknown param "${unknown[0] ?? ''}"`);
}
