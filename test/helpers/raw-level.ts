import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';

/** One raw key/value of a level database. */
export type RawEntry = [key: Buffer, value: Buffer];

/** Opens the level database at `path` directly (no LevelBrokerStore), runs `fn`, closes it. */
export async function withRawLevel<T>(path: string, fn: (db: Level<Buffer, Buffer>) => Promise<T>): Promise<T> {
  const db = new Level<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** Every raw entry whose key starts with `prefix`. */
export function rawEntries(path: string, prefix: string): Promise<RawEntry[]> {
  return withRawLevel(path, async (db) => (await db.iterator().all()).filter(([key]) => key.subarray(0, prefix.length).toString('latin1') === prefix));
}

/**
 * Flips one bit of the first value under `prefix` (`offsetFromEnd` bytes before its end) and
 * writes it back; returns the key. Closes the database before returning.
 */
export function flipValueByte(path: string, prefix: string, offsetFromEnd = 1): Promise<Buffer> {
  return withRawLevel(path, async (db) => {
    const entry = (await db.iterator().all()).find(([key]) => key.subarray(0, prefix.length).toString('latin1') === prefix);
    if (entry === undefined) throw new Error(`no key starting with ${prefix}`);
    const [key, value] = entry;
    const changed = Buffer.from(value);
    const at = changed.length - offsetFromEnd;
    changed[at] = (changed[at] as number) ^ 0x01;
    await db.put(key, changed, { sync: true });
    return key;
  });
}

/** Replaces the first value under `prefix` with `transform(value)`. */
export function rewriteValue(path: string, prefix: string, transform: (value: Buffer) => Buffer): Promise<void> {
  return withRawLevel(path, async (db) => {
    const entry = (await db.iterator().all()).find(([key]) => key.subarray(0, prefix.length).toString('latin1') === prefix);
    if (entry === undefined) throw new Error(`no key starting with ${prefix}`);
    await db.put(entry[0], transform(entry[1]), { sync: true });
  });
}

/** The bytes of every file under `dir`, concatenated (to look for plain text on disk). */
export async function allFileBytes(dir: string): Promise<Buffer> {
  const names = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = names.filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name));
  return Buffer.concat(await Promise.all(files.map((f) => readFile(f))));
}

/** Every file under `dir` (relative name → its bytes as hex SHA-256), to show that nothing changed. */
export async function dirSnapshot(dir: string): Promise<Record<string, string>> {
  const names = await readdir(dir, { recursive: true, withFileTypes: true });
  const snapshot: Record<string, string> = {};
  for (const d of names.filter((n) => n.isFile()).sort((a, b) => join(a.parentPath, a.name).localeCompare(join(b.parentPath, b.name)))) {
    const path = join(d.parentPath, d.name);
    snapshot[path.slice(dir.length + 1)] = createHash('sha256').update(await readFile(path)).digest('hex');
  }
  return snapshot;
}

/** The newest write-ahead log (`NNNNNN.log`) of the LevelDB at `dir`: its path. */
export async function newestLog(dir: string): Promise<string> {
  const logs = (await readdir(dir)).filter((f) => /^\d+\.log$/.test(f)).sort((a, b) => Number(a.slice(0, -4)) - Number(b.slice(0, -4)));
  const last = logs.at(-1);
  if (last === undefined) throw new Error(`no write-ahead log in ${dir}`);
  return join(dir, last);
}
