/** Listing, checking and removing instance folders under `$OPS_HOME`. */
import { access, readdir, rm } from 'node:fs/promises';
import { OpsError } from '../shared/errors.js';
import { instancePaths, isInstanceName, type InstancePaths } from './layout.js';

/** True when the instance folder has a deployment lock (i.e. was created). */
export async function instanceExists(paths: InstancePaths): Promise<boolean> {
  return access(paths.lock).then(
    () => true,
    () => false,
  );
}

/** Paths of an existing instance; throws `INST_NOT_FOUND`. */
export async function requireInstance(home: string, name: string): Promise<InstancePaths> {
  const paths = instancePaths(home, name);
  if (!(await instanceExists(paths))) throw new OpsError('INST_NOT_FOUND', { name, home });
  return paths;
}

/** Names of the created instances under `home`, sorted. */
export async function listInstances(home: string): Promise<string[]> {
  const entries = await readdir(home, { withFileTypes: true }).catch(() => []);
  const names: string[] = [];
  for (const entry of entries) {
    if (entry.isDirectory() && isInstanceName(entry.name) && (await instanceExists(instancePaths(home, entry.name)))) names.push(entry.name);
  }
  return names.sort();
}

/** Removes an instance folder and everything in it. */
export async function removeInstance(paths: InstancePaths): Promise<void> {
  await rm(paths.dir, { recursive: true, force: true });
}
