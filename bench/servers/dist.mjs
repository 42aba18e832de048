// Where the ops-broker server scripts load the broker from: BENCH_OURS_DIST (a built dist/
// directory, set by bench/lib/brokers.mjs for the baseline broker), else this repository's dist/.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const distRoot = process.env.BENCH_OURS_DIST
  ? path.resolve(process.env.BENCH_OURS_DIST)
  : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');

/**
 * Imports the first of `candidates` (paths relative to the dist root) that exists, so that one
 * script runs against builds whose modules sit at different paths (the level store was
 * `storage/level-broker-store.js` before it moved to `storage/level/`).
 */
export async function importDist(...candidates) {
  for (const rel of candidates) {
    const file = path.join(distRoot, rel);
    if (fs.existsSync(file)) return import(pathToFileURL(file).href);
  }
  throw new Error(`none of ${candidates.join(', ')} under ${distRoot} (run \`npm run build\` there)`);
}
