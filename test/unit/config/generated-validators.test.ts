/**
 * The validators `npm run build` generates (tools/compile-schemas.mjs: dist/config/schemas.compiled.cjs,
 * which the built broker and CLI use instead of compiling the schemas) give exactly the errors ajv's
 * run-time compile of schemas/*.schema.json gives (what src/config/schemas.ts does from the sources),
 * on every fixture and on values of the wrong shape. Needs `npm run build`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { schemaErrors, SCHEMA_FILES } from '../../../src/config/schemas.js';
import type { ResourceKind } from '../../../src/config/types.js';

const GENERATED = fileURLToPath(new URL('../../../dist/config/schemas.compiled.cjs', import.meta.url));
const fixtures = new URL('../../../fixtures/config/', import.meta.url);
const kinds = Object.keys(SCHEMA_FILES) as ResourceKind[];

type Generated = Record<ResourceKind, ((value: unknown) => boolean) & { errors?: unknown[] | null }>;

describe('the generated schema validators', () => {
  it('exist in the build, one per resource kind', () => {
    expect(existsSync(GENERATED), `${GENERATED} (run npm run build)`).toBe(true);
    const generated = createRequire(import.meta.url)(GENERATED) as Generated;
    for (const kind of kinds) expect(typeof generated[kind], kind).toBe('function');
  });

  it('give the errors the run-time compile gives, on every fixture and on wrong shapes', () => {
    const generated = createRequire(import.meta.url)(GENERATED) as Generated;
    const errorsOf = (kind: ResourceKind, value: unknown): unknown[] => {
      const validate = generated[kind];
      return validate(value) ? [] : [...(validate.errors ?? [])];
    };
    const values: Array<[ResourceKind, unknown, string]> = [];
    for (const dir of ['valid', 'invalid']) {
      for (const file of readdirSync(new URL(`${dir}/`, fixtures))) {
        const kind = kinds.find((k) => file.startsWith(`${k}--`));
        if (kind === undefined) continue;
        let value: unknown;
        try {
          value = JSON.parse(readFileSync(new URL(`${dir}/${file}`, fixtures), 'utf8'));
        } catch {
          continue; // broken JSON: never reaches a validator
        }
        values.push([kind, value, `${dir}/${file}`]);
      }
    }
    for (const kind of kinds) for (const value of [null, 1, 'x', [], {}, { properties: null }, { properties: { nope: 1 } }]) values.push([kind, value, JSON.stringify(value)]);
    expect(values.filter(([, , name]) => name.startsWith('invalid/')).length).toBeGreaterThan(20);
    for (const [kind, value, name] of values) expect(JSON.stringify(errorsOf(kind, value)), name).toBe(JSON.stringify(schemaErrors(kind, value)));
  });
});
