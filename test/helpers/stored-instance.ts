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

/**
 * Writes an instance `name` under a fresh home, then starts it: a Low memory profile, 1Gi
 * persistence with retain All, metrics on a free port, the given listeners, no authentications or
 * authorizations.
 */
export async function startStoredInstance(name: string, listeners: RuntimeState['listeners'], logger: LeveledLogger): Promise<StoredInstance> {
  const home = await mkdtemp(join(tmpdir(), `ops-${name}-`));
  const paths = instancePaths(home, name);
  await mkdir(paths.data, { recursive: true });
  await writeDeploymentLock(paths.lock, { memoryProfile: 'Low', persistence: { maxSize: '1Gi' } });
  await writeRuntimeState(paths.runtime, {
    version: 1,
    host: '127.0.0.1',
    broker: { diagnostics: { metrics: { prometheusPort: 0 } }, persistence: { retain: { mode: 'All' } } },
    listeners,
    authentications: {},
    authorizations: {},
  });
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
