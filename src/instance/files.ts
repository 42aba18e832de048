/** Small file helpers for instance files: atomic JSON writes and tolerant reads. */
import { randomBytes } from 'node:crypto';
import { link, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { OpsError, reasonOf } from '../shared/errors.js';

/** Writes `text` to a temp file beside `path`, then renames it over `path`. */
export async function writeFileAtomic(path: string, text: string, mode = 0o600): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, text, { mode, flush: true });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Creates `path` with `data` only if it does not exist yet, atomically: the bytes go to a temp file
 * beside it (flushed), which is then hard-linked to `path` (fails with EEXIST when `path` exists, so
 * a reader never sees a partial file and an existing file is never replaced). Returns false when
 * `path` already existed.
 */
export async function writeFileOnce(path: string, data: string | Buffer, mode = 0o600): Promise<boolean> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data, { mode, flush: true });
    await link(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Writes `value` as pretty JSON, atomically. */
export async function writeJsonAtomic(path: string, value: unknown, mode = 0o600): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, mode);
}

/** Reads a JSON file; undefined when it does not exist; `INST_CORRUPT` when it is not JSON. */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new OpsError('INST_CORRUPT', { path, reason: reasonOf(err) });
  }
}
