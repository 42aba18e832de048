/**
 * Loads schemas/*.schema.json and compiles each once with ajv (strict, all errors, verbose so
 * reports can quote the schema's `title` as what was expected). `npm run build` also writes the
 * validators ajv generates for them (tools/compile-schemas.mjs: dist/config/schemas.compiled.cjs); a
 * build uses those, which spares every broker start and every validating `ops` command compiling the
 * schemas again (most of their start-up time). Run from the sources (tests), they are compiled at
 * first use. ajv itself is loaded on first use: most `ops` commands validate nothing.
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

/** ajv's options for the schemas, at run time and for the build's generated validators alike. */
export const AJV_OPTIONS = { allErrors: true, strict: true, strictRequired: false, verbose: true } as const;

/** The generated validators' module, next to this one in a build. */
const GENERATED = './schemas.compiled.cjs';

const compiled = new Map<ResourceKind, ValidateFunction>();
let ajv: Ajv | undefined;
let generated: Partial<Record<ResourceKind, ValidateFunction>> | null | undefined;

/** The build's generated validator of `kind`, if there is one (none when run from the sources). */
function generatedFor(kind: ResourceKind): ValidateFunction | undefined {
  if (generated === undefined) {
    try {
      generated = createRequire(import.meta.url)(GENERATED) as Partial<Record<ResourceKind, ValidateFunction>>;
    } catch {
      generated = null; // not built: compile at run time
    }
  }
  const fn = generated?.[kind];
  return typeof fn === 'function' ? fn : undefined;
}

/** Reads one schema document. */
export function loadSchema(kind: ResourceKind): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(SCHEMA_FILES[kind], SCHEMAS_DIR), 'utf8')) as Record<string, unknown>;
}

/** The validator of a kind: the build's generated one, else compiled on first use; then cached. */
export function validatorFor(kind: ResourceKind): ValidateFunction {
  const cached = compiled.get(kind);
  if (cached) return cached;
  const ready = generatedFor(kind);
  if (ready !== undefined) {
    compiled.set(kind, ready);
    return ready;
  }
  if (ajv === undefined) {
    const { Ajv: AjvClass } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
    ajv = new AjvClass(AJV_OPTIONS);
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
