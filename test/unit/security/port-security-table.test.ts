import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { passwdLine } from '../../../src/security/passwd.js';
import type { ListenerPort } from '../../../src/config/types.js';
import type { RuntimeState } from '../../../src/instance/runtime-file.js';
import { PortSecurityTable } from '../../../src/server/security.js';
import { silentLogger } from '../../../src/shared/log.js';

const who = { clientId: 'c', username: 'u', attributes: {} };
const state = (rules: unknown[], ports: ListenerPort[]): RuntimeState => ({
  version: 1,
  host: '127.0.0.1',
  broker: {},
  listeners: { default: { ports: [{ port: 1883 }] }, secure: { ports } },
  authentications: { local: { authenticationMethods: [{ method: 'X509' }] } },
  authorizations: { rules: { authorizationPolicies: { rules } } },
});
const allowU = [{ principals: { usernames: ['u'] }, brokerResources: [{ method: 'Publish', topics: ['t'] }] }];

describe('PortSecurityTable', () => {
  it('gives open ports no hooks and ignores authorization without authentication', () => {
    const table = new PortSecurityTable('/nonexistent/passwd', silentLogger);
    table.update(state(allowU, [{ port: 1, authorizationRef: 'rules' }, { port: 2, authenticationRef: 'local', authorizationRef: 'rules' }]));
    expect(table.hooksOf('default', 1883)).toBeUndefined();
    expect(table.hooksOf('secure', 1)).toBeUndefined();
    expect(table.security('secure', 1).authorizer).toBeUndefined();
    const hooks = table.hooksOf('secure', 2);
    expect(hooks?.authorizePublish?.(who, 't')).toBe(true);
    expect(hooks?.authorizePublish?.(who, 'x')).toBe(false);
    expect(table.security('secure', 2).authnMethods?.map((m) => m.name)).toEqual(['X509']);
  });

  it('applies new rules to existing hooks and reports the ports whose security changed', () => {
    const table = new PortSecurityTable('/nonexistent/passwd', silentLogger);
    const ports = [{ port: 2, authenticationRef: 'local', authorizationRef: 'rules' }];
    table.update(state(allowU, ports));
    const hooks = table.hooksOf('secure', 2);
    expect(table.update(state(allowU, ports))).toEqual([]);
    expect(table.update(state([], ports))).toEqual(['secure:2']);
    expect(hooks?.authorizePublish?.(who, 't')).toBe(false);
    expect(table.update(state([], [{ port: 2 }, { port: 3, authenticationRef: 'local' }]))).toEqual(['secure:2']);
  });

  it('recompiles only the ports whose resources changed: another port keeps its compiled methods and rules', () => {
    const table = new PortSecurityTable('/nonexistent/passwd', silentLogger);
    const base = state(allowU, [{ port: 2, authenticationRef: 'local', authorizationRef: 'rules' }]);
    const withOther = (s: RuntimeState, rules: unknown[]): RuntimeState => ({
      ...s,
      listeners: { ...s.listeners, other: { ports: [{ port: 4, authenticationRef: 'local', authorizationRef: 'other' }] } },
      authorizations: { ...s.authorizations, other: { authorizationPolicies: { rules } } },
    });
    table.update(withOther(base, []));
    const secure = table.security('secure', 2);
    const other = table.security('other', 4);
    expect(table.update(withOther(base, allowU))).toEqual(['other:4']);
    expect(table.security('secure', 2)).toBe(secure); // the same compiled object: nothing it uses changed
    expect(table.security('other', 4)).not.toBe(other);
    expect(table.update(withOther(state([], [{ port: 2, authenticationRef: 'local', authorizationRef: 'rules' }]), allowU))).toEqual(['secure:2']);
    expect(table.security('secure', 2)).not.toBe(secure);
  });

  it('denies everything when the authorization named does not exist, and refuses CONNECT without a known user', async () => {
    const table = new PortSecurityTable('/nonexistent/passwd', silentLogger);
    table.update(state(allowU, [{ port: 2, authenticationRef: 'local', authorizationRef: 'missing' }]));
    const hooks = table.hooksOf('secure', 2);
    expect(hooks?.authorizePublish?.(who, 't')).toBe(false);
    const result = await hooks?.authenticate?.({ connection: {}, clientId: 'c', username: 'u', password: Buffer.from('p'), protocolVersion: 5, authenticationMethod: undefined, authenticationData: undefined });
    expect(result?.reasonCode).toBe(0x87);
    expect(result?.reasonString).toContain('X509');
  });

  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])(
    'a stored ref %s names no resource: the port admits no password-file user and denies everything (no Object.prototype member)',
    async (ref) => {
      const dir = await mkdtemp(join(tmpdir(), 'port-security-'));
      try {
        await writeFile(join(dir, 'passwd'), `${passwdLine('u', 'pw')}\n`);
        const table = new PortSecurityTable(join(dir, 'passwd'), silentLogger);
        table.update(state(allowU, [{ port: 2, authenticationRef: ref, authorizationRef: ref }]));
        expect(table.security('secure', 2).authnMethods).toBeUndefined();
        const hooks = table.hooksOf('secure', 2);
        expect(hooks?.authorizePublish?.(who, 't')).toBe(false);
        const result = await hooks?.authenticate?.({ connection: {}, clientId: 'c', username: 'u', password: Buffer.from('pw'), protocolVersion: 5, authenticationMethod: undefined, authenticationData: undefined });
        expect(result?.reasonCode).toBe(0x87);
        expect(result?.reasonString).toBe(`authentication '${ref}' does not exist`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
