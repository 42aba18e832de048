import { describe, expect, it } from 'vitest';
import { parsePasswd, passwdLine, verifyPassword } from '../../../src/security/passwd.js';

describe('password file', () => {
  it('verifies lines made by passwdLine, with attributes', async () => {
    const text = ['# users', '', passwdLine('alice', 's3cret', { building: 'b 1', role: 'x' }), passwdLine('bob', 'pw')].join('\n');
    const { entries, badLines } = parsePasswd(text);
    expect(badLines).toEqual([]);
    const alice = entries.get('alice');
    expect(alice?.attributes).toEqual({ building: 'b 1', role: 'x' });
    expect(await verifyPassword(alice as NonNullable<typeof alice>, Buffer.from('s3cret'))).toBe(true);
    expect(await verifyPassword(alice as NonNullable<typeof alice>, Buffer.from('s3cret!'))).toBe(false);
    expect(entries.get('bob')?.attributes).toEqual({});
  });

  it('skips malformed lines and absurd costs', () => {
    const good = passwdLine('carol', 'pw');
    const { entries, badLines } = parsePasswd(['nonsense', 'dan:md5:1:1:1:c2FsdA==:aGFzaGhhc2hoYXNoaGFzaA==', 'eve:scrypt:4194304:8:1:c2FsdA==:aGFzaGhhc2hoYXNoaGFzaA==', 'fay:scrypt:1000:8:1:c2FsdA==:aGFzaGhhc2hoYXNoaGFzaA==', good].join('\n'));
    expect(badLines).toEqual([1, 2, 3, 4]);
    expect([...entries.keys()]).toEqual(['carol']);
  });

  it('matches the node -e one-liner of docs/cli.md', async () => {
    const { scryptSync, randomBytes } = await import('node:crypto');
    const salt = randomBytes(16);
    const line = ['zed', 'scrypt', 16384, 8, 1, salt.toString('base64'), scryptSync('pw', salt, 32, { N: 16384, r: 8, p: 1 }).toString('base64')].join(':');
    const zed = parsePasswd(line).entries.get('zed');
    expect(zed && (await verifyPassword(zed, Buffer.from('pw')))).toBe(true);
  });
});
