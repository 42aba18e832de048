/**
 * runtime.json on disk: read and checked once into a typed {@link RuntimeState} (see
 * config/runtime-state.ts), written atomically by whoever owns it at the moment (the running broker,
 * or the CLI while the broker is stopped).
 */
import { parseRuntimeState, type RuntimeState } from '../config/runtime-state.js';
import { OpsError, reasonOf } from '../shared/errors.js';
import { readJsonFile, writeJsonAtomic } from './files.js';

export { RUNTIME_VERSION, type RuntimeState } from '../config/runtime-state.js';

/** Reads runtime.json; throws `INST_CORRUPT` when it is missing or malformed, `CFG_SCHEMA_INVALID` naming a stored resource the schema refuses. */
export async function readRuntimeState(path: string): Promise<RuntimeState> {
  const raw = await readJsonFile(path);
  try {
    return parseRuntimeState(raw, path);
  } catch (err) {
    if (err instanceof OpsError) throw err;
    throw new OpsError('INST_CORRUPT', { path, reason: reasonOf(err) });
  }
}

/** Writes runtime.json atomically. */
export async function writeRuntimeState(path: string, state: RuntimeState): Promise<void> {
  await writeJsonAtomic(path, state);
}
