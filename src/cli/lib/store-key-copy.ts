/**
 * `ops create --backend URL --store-key-from NAME`: the new frontend uses instance NAME's store key,
 * since every frontend of one backend must seal with the same key (another one is `STO_WRONG_KEY`
 * at start). The key file is read without following a link and copied with mode 0600.
 */
import { constants } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { requireInstance } from '../../instance/instances.js';
import { writeFileOnce } from '../../instance/files.js';
import { decodeStoreKey, STORE_KEY_ENV } from '../../instance/store-key.js';
import { OpsError } from '../../shared/errors.js';

const FLAG = '--store-key-from';

/** Reads a key file (never through a link; at most 1 KiB): its text, or undefined when it does not exist. */
async function readKeyFile(path: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new OpsError('CFG_FLAG_INVALID', { message: `${FLAG}: the key file ${path} cannot be read (${code ?? 'error'})` }, { cause: err });
  }
  try {
    const buffer = Buffer.alloc(1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * The store key of instance `name` under `home`, as base64 text, checked. Throws `CFG_FLAG_INVALID`
 * without `--backend` or when the instance has no valid key file, `INST_NOT_FOUND` when it does not exist.
 */
export async function copiedStoreKey(home: string, name: string, withBackend: boolean): Promise<string> {
  if (!withBackend) throw new OpsError('CFG_FLAG_INVALID', { message: `${FLAG} is for a cluster frontend: give --backend too.` });
  const source = await requireInstance(home, name);
  const text = await readKeyFile(source.storeKey);
  if (text === undefined) {
    throw new OpsError('CFG_FLAG_INVALID', {
      message: `${FLAG} ${name}: instance '${name}' has no store key (${source.storeKey}); its store is not encrypted, or its key comes from ${STORE_KEY_ENV} (then set ${STORE_KEY_ENV} for this instance too).`,
    });
  }
  const key = decodeStoreKey(text);
  if (key === undefined) throw new OpsError('CFG_FLAG_INVALID', { message: `${FLAG} ${name}: ${source.storeKey} is not the base64 of a 32-byte key.` });
  return key.toString('base64');
}

/** Writes the copied key as the new instance's key file (mode 0600, its folder 0700). */
export async function writeCopiedStoreKey(path: string, key: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileOnce(path, `${key}\n`, 0o600);
}
