/**
 * Loads schemas/*.schema.json and compiles each once with ajv (strict, all errors, verbose so
 * reports can quote the schema's `title` as what was expected). ajv itself is loaded on first use:
 * most `ops` commands validate nothing, and loading it is a good part of their start-up time.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import type { ResourceKind } from './types.js';

/** Schema file of each resource kind, relative to the package's schemas/ folder. */
export const SCHEMA_FILES: Readonly<Record<ResourceKind, string>> = {
  broker: 'broker.schema.json',
  listener: 'listener.schema.json',
  authentication: 'authentication.schema.json',
  authorization: 'authorization.schema.json',
};

/** The package's schemas/ folder (works from src/config and dist/config alike). */
export const SCHEMAS_DIR = new URL('../../schemas/', import.meta.url);

const compiled = new Map<ResourceKind, ValidateFunction>();
let ajv: Ajv | undefined;

/** Reads one schema document. */
export function loadSchema(kind: ResourceKind): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(SCHEMA_FILES[kind], SCHEMAS_DIR), 'utf8')) as Record<string, unknown>;
}

/** The compiled validator of a kind (compiled on first use, then cached). */
export function validatorFor(kind: ResourceKind): ValidateFunction {
  const cached = compiled.get(kind);
  if (cached) return cached;
  if (ajv === undefined) {
    const { Ajv: AjvClass } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
    ajv = new AjvClass({ allErrors: true, strict: true, strictRequired: false, verbose: true });
  }
  const fn = ajv.compile(loadSchema(kind));
  compiled.set(kind, fn);
  return fn;
}

/** Runs the schema of `kind` and returns ajv's raw errors (empty when valid). */
export function schemaErrors(kind: ResourceKind, value: unknown): ErrorObject[] {
  const fn = validatorFor(kind);
  return fn(value) ? [] : [...(fn.errors ?? [])];
}
