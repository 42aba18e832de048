/** Reading a file the user named on the command line or in a config, with the AIO CLI's file errors. */
import { readFile, stat } from 'node:fs/promises';
import { OpsError } from '../shared/errors.js';

/** The bytes of a file the user named; throws `CFG_FILE_NOT_FOUND` or `CFG_NOT_A_FILE`. */
export async function readInputFile(path: string): Promise<Buffer> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new OpsError('CFG_FILE_NOT_FOUND', { path });
  if (!info.isFile()) throw new OpsError('CFG_NOT_A_FILE', { path });
  return readFile(path);
}
