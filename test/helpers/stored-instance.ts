import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDeploymentLock } from '../../src/instance/deployment-lock.js';
import { instancePaths, type InstancePaths } from '../../src/instance/layout.js';
import { writeRuntimeState, type RuntimeState } from '../../src/instance/runtime-file.js';
import type { LeveledLogger } from '../../src/server/runtime.js';
import { startInstance, type RunningBroker } from '../../src/server/start.js';

/** An instance written straight to disk (lock and runtime state) and started in this process. */
export interface StoredInstance {
  readonly paths: InstancePaths;
  readonly running: RunningBroker;
  /** Stops the broker and removes the instance's home. */
  close(): Promise<void>;
}

/** Writes an instance `name` with a Low memory profile and 1Gi persistence, and `state`, under a fresh home, then starts it. */
export async function startStoredInstance(name: string, state: RuntimeState, logger: LeveledLogger): Promise<StoredInstance> {
  const home = await mkdtemp(join(tmpdir(), `ops-${name}-`));
  const paths = instancePaths(home, name);
  await mkdir(paths.data, { recursive: true });
  await writeDeploymentLock(paths.lock, { memoryProfile: 'Low', persistence: { maxSize: '1Gi' } });
  await writeRuntimeState(paths.runtime, state);
  const running = await startInstance(paths, logger);
  return {
    paths,
    running,
    close: async () => {
      await running.stop('test done');
      await rm(home, { recursive: true, force: true });
    },
  };
}
