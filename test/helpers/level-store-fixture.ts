import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { OpsError } from '../../src/shared/errors.js';
import { LevelBrokerStore, type LevelBrokerStoreOptions } from '../../src/storage/level/level-broker-store.js';

/** Temp directories and {@link LevelBrokerStore}s of a test file, released by `cleanup`. */
export interface LevelStoreFixture {
  /** A new empty temp directory (removed by `cleanup`). */
  freshDir(): Promise<string>;
  /** Opens a store (closed by `cleanup`). */
  open(options: LevelBrokerStoreOptions): Promise<LevelBrokerStore>;
  /** Closes every store opened, then removes every directory made (call after stopping brokers on them). */
  cleanup(): Promise<void>;
}

/** A fixture whose temp directories are named `<tmpdir>/<prefix>XXXXXX`. */
export function levelStoreFixture(prefix: string): LevelStoreFixture {
  const dirs: string[] = [];
  const stores: LevelBrokerStore[] = [];
  return {
    async freshDir() {
      const dir = await mkdtemp(join(tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    },
    async open(options) {
      const store = await LevelBrokerStore.open(options);
      stores.push(store);
      return store;
    },
    async cleanup() {
      for (const s of stores.splice(0)) await s.close().catch(() => undefined);
      for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The rejection of `promise`, which must be an OpsError (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<OpsError> {
  const error: unknown = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OpsError);
  return error as OpsError;
}

/** Fails unless `promise` rejects with an OpsError of `code`; returns the error. */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<OpsError> {
  const error = await rejectionOf(promise);
  expect(error.code).toBe(code);
  return error;
}
