import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeOpsInstance, type OpsInstance } from '../helpers/ops-instance.js';

/** Destructive commands from scripts (no terminal): nothing is deleted without --yes or without a name. */
let inst: OpsInstance;
beforeAll(async () => {
  inst = await makeOpsInstance('careful');
});
afterAll(async () => {
  await inst.cleanup();
});

const NO_TTY = 'Unable to prompt for confirmation as no tty available. Use --yes.';

describe('confirmations and required names', () => {
  it('listener|authn|authz show and delete need -n (no silent default)', async () => {
    for (const group of ['listener', 'authn', 'authz']) {
      for (const action of ['show', 'delete']) {
        const r = await inst.ops('broker', group, action, '--instance', inst.instance, '--yes');
        expect(r.exitCode, `${group} ${action}`).toBe(2);
        expect(r.stderr).toContain("required option '-n, --name <name>' not specified");
      }
    }
    expect((await inst.status()).ports.map((p) => p.listener)).toContain('default');
  });

  it('ops delete without --yes and without a terminal refuses with the hint, and deletes nothing', async () => {
    const r = await inst.ops('delete', '--instance', inst.instance);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(NO_TTY);
    expect(r.stderr).toContain('(CLI_USAGE, exit code 2)');
    expect(existsSync(join(inst.home, inst.instance, 'deployment.lock.json')) || existsSync(join(inst.home, inst.instance))).toBe(true);
    expect((await inst.status()).pid).toBeGreaterThan(0);
  });

  it('deleting the default listener without --yes says which clients it cuts off and refuses without a terminal', async () => {
    const r = await inst.ops('broker', 'listener', 'delete', '-n', 'default', '--instance', inst.instance);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(NO_TTY);
    expect((await inst.status()).ports.map((p) => p.listener)).toContain('default');
  });

  it('changing the default listener from a script goes ahead with a warning naming its ports', async () => {
    const r = await inst.apply('listener', 'default', { ports: [{ port: 0 }] });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/warning: Changing listener 'default' disconnects the clients on its port\(s\) 0 /);
    const other = await inst.apply('listener', 'extra', { ports: [{ port: 0 }] });
    expect(other.exitCode).toBe(0);
    expect(other.stderr).not.toContain('warning');
    const removed = await inst.ops('broker', 'listener', 'delete', '-n', 'extra', '--instance', inst.instance);
    expect(removed.stderr).toContain(NO_TTY);
    expect((await inst.ops('broker', 'listener', 'delete', '-n', 'extra', '--instance', inst.instance, '--yes')).exitCode).toBe(0);
  });
});
