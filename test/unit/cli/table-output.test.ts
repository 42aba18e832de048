/**
 * `-o table` prints real rows: settings commands one row per setting, `broker list --all` the
 * instance of each row. In process, on stopped instances written to a temp OPS_HOME.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settingRows } from '../../../src/cli/lib/output.js';
import { buildCreateProperties } from '../../../src/config/create-settings.js';
import { deploymentSettings, runtimeSettings } from '../../../src/config/split.js';
import { writeDeploymentLock } from '../../../src/instance/deployment-lock.js';
import { instancePaths } from '../../../src/instance/layout.js';
import { RUNTIME_VERSION, writeRuntimeState } from '../../../src/instance/runtime-file.js';
import { inProcessOps, type InProcessRun } from '../../helpers/cli-in-process.js';

let home = '';
let run: (...argv: string[]) => Promise<InProcessRun>;

/** Writes a stopped instance as `ops create` would, without starting its broker. */
async function stoppedInstance(name: string, maxSize?: string): Promise<void> {
  const paths = instancePaths(home, name);
  const props = buildCreateProperties(maxSize === undefined ? {} : { maxSize, persistMode: ['retain=All'] });
  await mkdir(paths.data, { recursive: true, mode: 0o700 });
  await writeDeploymentLock(paths.lock, deploymentSettings(props) as Record<string, unknown>);
  await writeRuntimeState(paths.runtime, {
    version: RUNTIME_VERSION,
    host: '127.0.0.1',
    broker: runtimeSettings(props) as Record<string, unknown>,
    listeners: { default: { ports: [{ port: 1883 }] } },
    authentications: {},
    authorizations: {},
  });
}

/** The data rows of a table (header and rule dropped), split into cells. */
function rows(table: string): string[][] {
  return table
    .trimEnd()
    .split('\n')
    .slice(2)
    .map((line) => line.split(/\s{2,}/));
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'ops-table-'));
  run = inProcessOps(home);
  await stoppedInstance('alpha', '1Gi');
  await stoppedInstance('beta');
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('-o table', () => {
  it('persist show prints one row per setting, not only a header', async () => {
    const r = await run('broker', 'persist', 'show', '--instance', 'alpha', '-o', 'table');
    expect(r.code).toBe(0);
    const cells = rows(r.out);
    expect(cells).toContainEqual(['live', 'false']);
    expect(cells).toContainEqual(['persistence.maxSize', '1Gi']);
    expect(cells).toContainEqual(['persistence.retain.mode', 'All']);
  });

  it('limits show prints every limit in force as a row', async () => {
    const r = await run('broker', 'limits', 'show', '--instance', 'beta', '-o', 'table');
    expect(r.code).toBe(0);
    const cells = rows(r.out);
    expect(cells).toContainEqual(['limits.maxSubscriptionsPerClient', '10000']);
    expect(cells).toContainEqual(['limits.maxTopicLevels', '100']);
    expect(cells.length).toBeGreaterThanOrEqual(11);
  });

  it('broker list --all tells the rows apart by instance', async () => {
    const r = await run('broker', 'list', '--all', '-o', 'table');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toMatch(/^Instance\s+Name\s+ResourceGroup\s+ProvisioningState$/);
    expect(rows(r.out)).toEqual([
      ['alpha', 'default', 'local', 'Succeeded'],
      ['beta', 'default', 'local', 'Succeeded'],
    ]);
    const one = await run('broker', 'list', '--instance', 'alpha', '-o', 'table');
    expect(one.out.split('\n')[0]).toMatch(/^Name\s+ResourceGroup\s+ProvisioningState$/); // one instance: az's columns
  });

  it('settingRows names nested settings by path and joins lists', () => {
    expect(settingRows({ a: { b: 1, c: ['x', 'y'] }, d: null, e: {} })).toEqual([
      { setting: 'a.b', value: '1' },
      { setting: 'a.c', value: 'x, y' },
      { setting: 'd', value: 'null' },
      { setting: 'e', value: '{}' },
    ]);
  });
});
