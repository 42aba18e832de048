/** Bytes used by a folder tree (the instance's data folder), for stats and metrics. */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Sums file sizes under `dir`; 0 when it does not exist. */
export async function diskUsage(dir: string): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  let total = 0;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await diskUsage(path);
    else if (entry.isFile()) total += (await stat(path).catch(() => ({ size: 0 }))).size;
  }
  return total;
}
