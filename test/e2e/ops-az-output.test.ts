/** az fidelity through the real `ops` binary on a real instance: `--query`, `-o tsv`, prefixes, scope flags. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessOps } from '../helpers/cli-in-process.js';
import { makeOpsInstance, type OpsInstance } from '../helpers/ops-instance.js';

let inst: OpsInstance;
beforeAll(async () => {
  inst = await makeOpsInstance('azout');
});
afterAll(async () => {
  await inst.cleanup();
});

describe('az output flags on a real instance', () => {
  it('--query with -o tsv prints the selected values, one row per item', async () => {
    const name = await inst.ops('broker', 'show', '--instance', 'azout', '--query', 'name', '-o', 'tsv');
    expect(name.exitCode).toBe(0);
    expect(name.stdout).toBe('default');
    const rows = await inst.ops('broker', 'list', '--all', '--query', '[].{n: name, state: properties.provisioningState}', '-o', 'tsv');
    expect(rows.exitCode).toBe(0);
    expect(rows.stdout).toBe('default\tSucceeded');
  });

  it('--query without -o prints JSON, as az (also on a command whose default is text)', async () => {
    const r = await inst.ops('broker', 'status', '--instance', 'azout', '--query', 'pid');
    expect(r.exitCode).toBe(0);
    expect(Number(r.stdout)).toBe((await inst.status()).pid);
  });

  it('-o tsv of a whole resource is its top-level values by sorted key', async () => {
    const resource = await inst.json<Record<string, unknown>>('broker', 'show', '--instance', 'azout');
    const r = await inst.ops('broker', 'show', '--instance', 'azout', '-o', 'tsv');
    expect(r.stdout.split('\t')).toHaveLength(Object.keys(resource).length);
    expect(r.stdout.split('\t')).toContain('default');
  });

  it("az's own port add example runs as pasted: --authn prefix, -g and -b accepted with one warning", async () => {
    const r = await inst.ops(
      'broker', 'listener', 'port', 'add', '--in', 'azout', '-g', 'myresourcegroup', '-b', 'default',
      '--listener', 'default', '--port', '1884', '--authn', 'default', '--show-config', '--query', 'ports[?port==`1884`].authenticationRef', '-o', 'tsv',
    );
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('default');
    expect(r.stderr.match(/warning:/g)).toHaveLength(1);
    expect(r.stderr).toContain('--resource-group, --broker: Azure scope, no local meaning here; ignored.');
  });

  it('in process: -o none prints nothing, --only-show-errors hides the scope warning', async () => {
    const run = inProcessOps(inst.home);
    const r = await run('broker', 'show', '--instance', 'azout', '-g', 'rg', '-o', 'none', '--only-show-errors');
    expect(r).toEqual({ code: 0, out: '', err: '' });
    const yamlc = await run('broker', 'show', '--instance', 'azout', '-o', 'yamlc', '--query', '{name: name}');
    expect(yamlc.out).toBe('name: default\n');
    // Global flags may also come before the subcommand.
    expect((await run('--query', 'name', 'broker', 'show', '--instance', 'azout', '-o', 'tsv')).out).toBe('default\n');
  });
});
