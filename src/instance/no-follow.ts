/**
 * Instance files and folders the broker writes are never reached through a symbolic link: a link
 * planted as `broker.log` or `data/` would make the broker append its log to, or keep its store in,
 * a place outside the instance. Files are opened with `O_NOFOLLOW`; folders are checked with
 * `lstat` before use. Both refuse with `INST_UNSAFE_PATH`.
 */
import { constants, lstatSync, openSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { OpsError } from '../shared/errors.js';

const LINK_REASON = 'it is a symbolic link, and the broker does not follow links out of its instance folder (remove the link)';

function refuse(path: string, reason: string): never {
  throw new OpsError('INST_UNSAFE_PATH', { path, reason });
}

/**
 * Opens `path` for appending (created with `mode` when missing) without following a symbolic link;
 * returns the file descriptor. Throws `INST_UNSAFE_PATH` for a link or anything but a regular file.
 */
export function openAppendNoFollow(path: string, mode = 0o600): number {
  const info = lstatSync(path, { throwIfNoEntry: false });
  if (info?.isSymbolicLink()) refuse(path, LINK_REASON);
  if (info !== undefined && !info.isFile()) refuse(path, 'it is not a regular file');
  try {
    return openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') refuse(path, LINK_REASON); // made a link since the lstat
    throw err;
  }
}

/** Throws `INST_UNSAFE_PATH` when `path` is a symbolic link or exists as something other than a folder. */
export async function assertRealFolder(path: string): Promise<void> {
  const info = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (info?.isSymbolicLink()) refuse(path, LINK_REASON);
  if (info !== undefined && !info.isDirectory()) refuse(path, 'it is not a folder');
}
