/**
 * A listener port naming what does not exist (an authentication or authorization resource, a Manual
 * TLS secret) is stored with exit 0 but warned about, naming what is missing, live and stopped alike;
 * `listener show` says each port's state. Through the real `ops` binary.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeOpsInstance, type OpsInstance } from '../helpers/ops-instance.js';

interface PortState {
  port: number;
  state: 'served' | 'skipped' | 'stopped';
  url?: string;
  reason?: string;
  missing: string[];
}

let h: OpsInstance;
beforeAll(async () => {
  h = await makeOpsInstance('refs', 'warn', { plainOnly: true });
});
afterAll(async () => {
  await h.cleanup();
});

const show = (name: string) => h.json<{ portStates: PortState[] }>('broker', 'listener', 'show', '--instance', 'refs', '-n', name);

describe('listener references that name nothing', () => {
  it('live: authenticationRef/authorizationRef naming no resource are applied (exit 0) with a warning naming each, and show says the port is served', async () => {
    const r = await h.apply('listener', 'guarded', { ports: [{ port: 0, authenticationRef: 'no-such-authn', authorizationRef: 'no-such-authz' }] });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain("warning: listener 'guarded' port 0: authenticationRef 'no-such-authn' names no authentication resource");
    expect(r.stderr).toContain("warning: listener 'guarded' port 0: authorizationRef 'no-such-authz' names no authorization resource");
    const [port] = (await show('guarded')).portStates;
    expect(port).toMatchObject({ port: 0, state: 'served' });
    expect(port?.url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    expect(port?.missing).toHaveLength(2);
  });

  it('live: a Manual TLS secret that does not exist is warned about, and show says the port is skipped and why', async () => {
    const r = await h.apply('listener', 'manual-tls', { ports: [{ port: 0, tls: { mode: 'Manual', manual: { secretRef: 'missing-cert' } } }] });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain("warning: listener 'manual-tls' port 0: TLS secret 'missing-cert' not found");
    const [port] = (await show('manual-tls')).portStates;
    expect(port).toMatchObject({ port: 0, state: 'skipped' });
    expect(port?.reason).toContain("TLS secret 'missing-cert' not found");
    const table = await h.ops('broker', 'listener', 'show', '--instance', 'refs', '-n', 'manual-tls', '-o', 'table');
    expect(table.stderr).toContain("port 0: skipped: TLS secret 'missing-cert' not found");
  });

  it('creating the missing authentication ends the warning; deleting it warns about the ports that name it', async () => {
    const authn = { authenticationMethods: [{ method: 'Custom', customSettings: { endpoint: 'https://127.0.0.1:9/auth' } }] };
    expect((await h.apply('authn', 'no-such-authn', authn)).exitCode).toBe(0);
    const again = await h.apply('listener', 'guarded', { ports: [{ port: 0, authenticationRef: 'no-such-authn' }] });
    expect(again.exitCode).toBe(0);
    expect(again.stderr).not.toContain('warning:');
    const deleted = await h.ops('broker', 'authn', 'delete', '--instance', 'refs', '-n', 'no-such-authn', '--yes');
    expect(deleted.exitCode).toBe(0);
    expect(deleted.stderr).toContain("warning: listener 'guarded' port 0: authenticationRef 'no-such-authn' names no authentication resource");
  });

  it('stopped: the same warning as the apply\'s result, and show says the port is not served because the broker is stopped', async () => {
    expect((await h.ops('broker', 'stop', '--instance', 'refs')).exitCode).toBe(0);
    const r = await h.apply('listener', 'manual-tls', { ports: [{ port: 0, authenticationRef: 'ghost' }] }); // at most 3 listeners: replace one
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain("warning: listener 'manual-tls' port 0: authenticationRef 'ghost' names no authentication resource");
    const [port] = (await show('manual-tls')).portStates;
    expect(port).toMatchObject({ port: 0, state: 'stopped' });
    expect(port?.missing[0]).toContain("authenticationRef 'ghost'");
  });
});
