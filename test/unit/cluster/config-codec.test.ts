import { describe, expect, it } from 'vitest';
import { BadConfigRevision, decodeConfigRevision, encodeConfigRevision, MAX_CONFIG_REVISION_BYTES, type ConfigRevision } from '../../../src/cluster/config-codec.js';

const revision: ConfigRevision = {
  rev: 7,
  origin: 'AbCdEfGhIjKlMnOp',
  shared: {
    broker: { diagnostics: { logs: { level: 'debug' } } },
    authentications: {},
    authorizations: { rules: { authorizationPolicies: { rules: [{ principals: { usernames: ['alice'] }, brokerResources: [{ method: 'Connect' }] }] } } },
  },
};
const bytes = (value: unknown): Buffer => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
const reasonOf = (input: Buffer): string => {
  try {
    decodeConfigRevision(input);
  } catch (error) {
    if (error instanceof BadConfigRevision) return error.message;
    throw error;
  }
  return 'decoded';
};

describe('cluster config revision codec', () => {
  it('round-trips a revision', () => {
    expect(decodeConfigRevision(encodeConfigRevision(revision))).toEqual(revision);
  });

  it('refuses what is not a revision of this build, saying why', () => {
    const good = JSON.parse(encodeConfigRevision(revision).toString()) as Record<string, unknown>;
    expect(reasonOf(bytes('{'))).toBe('not JSON');
    expect(reasonOf(bytes('[1]'))).toBe('not an object');
    expect(reasonOf(bytes({ ...good, v: 2 }))).toMatch(/^version 2/);
    expect(reasonOf(bytes({ ...good, rev: 0 }))).toBe('no revision number');
    expect(reasonOf(bytes({ ...good, rev: 1.5 }))).toBe('no revision number');
    expect(reasonOf(bytes({ ...good, rev: '3' }))).toBe('no revision number');
    expect(reasonOf(bytes({ ...good, origin: '' }))).toBe('no origin');
    expect(reasonOf(bytes({ ...good, shared: 5 }))).toMatch(/^settings refused/);
    expect(reasonOf(bytes({ ...good, shared: { authorizations: { r: { authorizationPolicies: 1 } } } }))).toMatch(/^settings refused/);
    expect(reasonOf(bytes('['.repeat(100_000)))).toBe('nested too deeply');
    expect(reasonOf(Buffer.alloc(MAX_CONFIG_REVISION_BYTES + 1, 0x20))).toMatch(/bytes \(at most/);
  });
});
