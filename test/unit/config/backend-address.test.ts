import { describe, expect, it } from 'vitest';
import { formatBackendAddress, MAX_BACKEND_SEEDS, parseBackendAddress } from '../../../src/config/backend-address.js';
import { OpsError } from '../../../src/shared/errors.js';

/** The error `parseBackendAddress(value, flag)` throws. */
function refusal(value: string, flag?: string): OpsError {
  try {
    parseBackendAddress(value, flag);
  } catch (err) {
    if (err instanceof OpsError) return err;
    throw err;
  }
  throw new Error(`${value} was accepted`);
}

describe('parseBackendAddress', () => {
  it('takes host names, IPv4 and [IPv6] seeds with their ports, in order, without duplicates', () => {
    expect(parseBackendAddress('redis://h1:7001,h2.example.com:7002')).toEqual({ kind: 'redis-cluster', seeds: ['h1:7001', 'h2.example.com:7002'] });
    expect(parseBackendAddress('redis://127.0.0.1:1,[::1]:65535').seeds).toEqual(['127.0.0.1:1', '[::1]:65535']);
    expect(parseBackendAddress(' REDIS://Node-A:7000,node-a:7000 ').seeds).toEqual(['node-a:7000']);
    expect(parseBackendAddress('redis://[FE80::1]:7000').seeds).toEqual(['[fe80::1]:7000']);
  });

  it('formats back to the same address', () => {
    const address = parseBackendAddress('redis://a:1,[::1]:2,10.0.0.1:3');
    expect(formatBackendAddress(address)).toBe('redis://a:1,[::1]:2,10.0.0.1:3');
    expect(parseBackendAddress(formatBackendAddress(address))).toEqual(address);
  });

  it.each([
    ['rediss://h:7000', 'TLS to the backend is not supported yet'],
    ['http://h:7000', 'the scheme must be redis://'],
    ['h:7000', 'the scheme must be redis://'],
    ['redis://', 'no host:port given'],
    ['redis://h:7000,', 'an empty entry'],
    ['redis://h', '"h" has no :port'],
    ['redis://h:', 'the port of "h:" is not a number'],
    ['redis://h:0', 'not in 1-65535'],
    ['redis://h:65536', 'not in 1-65535'],
    ['redis://h:70a', 'is not a number'],
    ['redis://:7000', '":7000" has no host'],
    ['redis://h_1:7000', '"h_1" is not a host name or IPv4 address'],
    ['redis://-h:7000', '"-h" is not a host name'],
    ['redis://300.1.1.1:7000', '"300.1.1.1" is not a host name or IPv4 address'],
    ['redis://::1:7000', 'must be in brackets'],
    ['redis://[::1:7000', 'no closing ]'],
    ['redis://[zz::1]:7000', 'is not an IPv6 address'],
    ['redis://[::1]7000', 'has no :port'],
    ['redis://h:7000/0', '"/0": a database path, query or fragment is not supported'],
    ['redis://h:7000?x=1', 'query'],
    ['redis://h:7000#f', 'fragment'],
    ['redis://user:pw@h:7000', 'a user or password is not supported yet'],
  ])('refuses %s: %s', (value, reason) => {
    const error = refusal(value);
    expect(error.code).toBe('CFG_BACKEND_INVALID');
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('--backend');
    expect(error.message).toContain(reason);
  });

  it('names the flag it is given, and never repeats a password', () => {
    expect(refusal('redis://h', '--my-flag').message).toMatch(/^--my-flag "redis:\/\/h" is not a backend address/);
    const error = refusal('redis://admin:s3cret@h:7000');
    expect(error.message).not.toContain('s3cret');
    expect(error.message).not.toContain('admin');
    expect(error.message).toContain('redis://***@h:7000');
  });

  it('takes at most MAX_BACKEND_SEEDS seeds', () => {
    const seeds = (n: number) => Array.from({ length: n }, (_, i) => `h${i}:7000`).join(',');
    expect(parseBackendAddress(`redis://${seeds(MAX_BACKEND_SEEDS)}`).seeds).toHaveLength(MAX_BACKEND_SEEDS);
    expect(refusal(`redis://${seeds(MAX_BACKEND_SEEDS + 1)}`).message).toContain(`more than ${MAX_BACKEND_SEEDS} seeds`);
  });
});
