/**
 * Whether an instance folder is a frontend of a local topology (`<topology>/members/<name>/`,
 * made by the supervisor, next to the topology's `topology.json`): such a frontend shows the
 * topology's resources under the topology's instance name, the same from every frontend.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** The instance name of the local topology whose frontend lives in `dir`, or undefined. */
export function topologyOfMemberDir(dir: string): string | undefined {
  const members = dirname(dir);
  if (basename(members) !== 'members') return undefined;
  const topology = dirname(members);
  return existsSync(join(topology, 'topology.json')) ? basename(topology) : undefined;
}
