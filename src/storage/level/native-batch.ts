/**
 * The one place the level store reaches below abstract-level's public API: classic-level's native
 * chained batch, made by the private `_chainedBatch` that abstract-level lets an implementation
 * override. classic-level defines its own on its class; its batch copies each key and value into
 * the LevelDB WriteBatch at once (`_put`, `_del`) and writes it with `_write({ sync })`.
 *
 * A classic-level release without it must fail loudly, not fall back to slower writes unnoticed:
 * {@link nativeBatchesOf} throws, naming the installed classic-level version, and
 * test/unit/storage/native-batch.test.ts fails on such an upgrade.
 */
import { createRequire } from 'node:module';
import { Level } from 'level';

type Db = Level<Buffer, Buffer>;

/** classic-level's native chained batch, below abstract-level's checks. */
export interface NativeChainedBatch {
  _put(key: Buffer, value: Buffer): void;
  _del(key: Buffer): void;
  _write(options: { sync: boolean }): Promise<void>;
}

const FACTORY = '_chainedBatch';

/** The installed classic-level's version (the package `level` resolves), for error messages. */
export function classicLevelVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    const fromLevel = createRequire(require.resolve('level'));
    const manifest: unknown = fromLevel('classic-level/package.json');
    const version: unknown = typeof manifest === 'object' && manifest !== null ? Reflect.get(manifest, 'version') : undefined;
    return typeof version === 'string' ? version : 'of unknown version';
  } catch {
    return 'of unknown version';
  }
}

/**
 * A maker of native chained batches of `db`, or undefined when `db` itself has none (an
 * abstract-level database that is not classic-level's). Throws when the installed classic-level's
 * class defines no `_chainedBatch` of its own: the batch writer (batch-writer.ts) is built on it.
 */
export function nativeBatchesOf(db: Db): (() => NativeChainedBatch) | undefined {
  if (!Object.hasOwn(Level.prototype, FACTORY) || typeof Reflect.get(Level.prototype, FACTORY) !== 'function') {
    throw new Error(
      `classic-level ${classicLevelVersion()} defines no native ${FACTORY}: the level store's batch writer needs it ` +
        '(src/storage/level/native-batch.ts); use the classic-level version package-lock.json pins, or adapt that module',
    );
  }
  const factory: unknown = Reflect.get(db, FACTORY);
  if (typeof factory !== 'function') return undefined;
  return () => factory.call(db) as NativeChainedBatch;
}
