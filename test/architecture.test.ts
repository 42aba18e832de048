import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/shared/error-codes.js';

const SRC = resolve(import.meta.dirname, '../src');

/** Module ranks (docs/architecture.md, "Layout": a module imports only from lower ranks or from itself). */
const RANKS: [prefix: string, module: string, rank: number][] = [
  ['shared/', 'shared', 0],
  ['protocol/', 'protocol', 1],
  ['storage/', 'storage', 1],
  ['config/', 'config', 1],
  ['instance/', 'instance', 2],
  ['admin/wire', 'admin-link', 1],
  ['admin/client', 'admin-link', 1],
  ['policy/', 'policy', 2],
  ['broker/', 'broker', 3],
  ['services/', 'services', 4],
  ['security/', 'security', 4],
  ['cluster/', 'cluster', 4],
  ['admin/', 'admin-server', 5],
  ['server/', 'server', 6],
  ['cli/', 'cli', 6],
  ['index.ts', 'index', 7],
];

/** The module a file belongs to, and its rank. */
function rankOf(file: string): [string, number] {
  for (const [prefix, module, rank] of RANKS) if (file.startsWith(prefix)) return [module, rank];
  throw new Error(`${file} is in no ranked module; add it to RANKS`);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  return [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/g)].map((m) => (m[1] ?? m[2]) as string);
}

/** The storage implementation a file of src/storage belongs to (`memory`, `level`, ...), undefined for the shared contracts. */
function storageImplementationOf(rel: string): string | undefined {
  return /^storage\/([^/]+)\//.exec(rel)?.[1];
}

const files = sourceFiles(SRC).map((path) => ({ path, rel: relative(SRC, path) }));

describe('architecture', () => {
  it('imports only go to lower-ranked modules (one-way ranks)', () => {
    const violations: string[] = [];
    for (const { path, rel } of files) {
      const [prefix, rank] = rankOf(rel);
      for (const spec of importsOf(path)) {
        if (!spec.startsWith('.')) continue;
        const target = relative(SRC, resolve(dirname(path), spec)).replace(/\.js$/, '.ts');
        const [targetPrefix, targetRank] = rankOf(target);
        if (targetPrefix === prefix) continue;
        if (targetRank >= rank) violations.push(`${rel} -> ${target}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('only src/protocol imports the packet codec, only the level store (storage/level/) imports level', () => {
    const violations: string[] = [];
    for (const { path, rel } of files) {
      for (const spec of importsOf(path)) {
        if (spec === 'mqtt-packet' && !rel.startsWith('protocol/')) violations.push(`${rel} imports mqtt-packet`);
        if ((spec === 'level' || spec === 'classic-level') && !rel.startsWith('storage/level/')) violations.push(`${rel} imports ${spec}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('storage: the contracts in storage/ import no implementation, an implementation (storage/<name>/) imports no other one', () => {
    const violations: string[] = [];
    for (const { path, rel } of files.filter((f) => f.rel.startsWith('storage/'))) {
      const own = storageImplementationOf(rel);
      for (const spec of importsOf(path)) {
        if (!spec.startsWith('.')) continue;
        const target = relative(SRC, resolve(dirname(path), spec)).replace(/\.js$/, '.ts');
        if (!target.startsWith('storage/')) continue;
        const implementation = storageImplementationOf(target);
        if (implementation !== undefined && implementation !== own) violations.push(`${rel} -> ${target}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('storage: outside storage/, only the server (which opens the instance store) imports the level store, and only it and cluster/ the redis one', () => {
    const violations: string[] = [];
    for (const { path, rel } of files.filter((f) => !f.rel.startsWith('storage/') && !f.rel.startsWith('server/'))) {
      for (const spec of importsOf(path)) {
        if (!spec.startsWith('.')) continue;
        const target = relative(SRC, resolve(dirname(path), spec)).replace(/\.js$/, '.ts');
        if (/^storage\/level\//.test(target) || (/^storage\/redis\//.test(target) && !rel.startsWith('cluster/'))) violations.push(`${rel} -> ${target}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('storage: only storage/redis/ talks to Redis (the one storage folder that opens sockets)', () => {
    const violations: string[] = [];
    for (const { path, rel } of files.filter((f) => f.rel.startsWith('storage/') && !f.rel.startsWith('storage/redis/'))) {
      for (const spec of importsOf(path)) if (/^(node:)?(net|tls)$/.test(spec)) violations.push(`${rel} imports ${spec}`);
    }
    expect(violations).toEqual([]);
  });

  it('the CLI never imports broker-side code', () => {
    const forbidden = /^(broker|protocol|storage|services|server)\//;
    const violations: string[] = [];
    for (const { path, rel } of files.filter((f) => f.rel.startsWith('cli/'))) {
      for (const spec of importsOf(path)) {
        if (!spec.startsWith('.')) continue;
        const target = relative(SRC, resolve(dirname(path), spec));
        if (forbidden.test(target)) violations.push(`${rel} -> ${target}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('no `any` in src', () => {
    const offenders = files.filter(({ path }) => /:\s*any\b|as any\b|<any>/.test(readFileSync(path, 'utf8'))).map((f) => f.rel);
    expect(offenders).toEqual([]);
  });

  it('the error-code table (docs/error-codes.md, linked from the README) lists exactly the registered error codes', () => {
    const text = readFileSync(resolve(SRC, '../docs/error-codes.md'), 'utf8');
    const table = new Set([...text.matchAll(/^\|\s*`([A-Z]+_[A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1] as string));
    expect([...table].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });
});
