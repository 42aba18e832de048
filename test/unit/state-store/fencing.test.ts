import { describe, expect, it } from 'vitest';
import { ERR } from '../../../src/services/state-store/constants.js';
import { checkFencingToken, nextFencingToken } from '../../../src/services/state-store/fencing.js';
import { parseHlc } from '../../../src/shared/hlc-text.js';

const h = (s: string) => parseHlc(s)!;

describe('fencing tokens', () => {
  it('lets anything through on an unfenced key', () => {
    expect(checkFencingToken(undefined, undefined)).toBeUndefined();
    expect(checkFencingToken(undefined, h('1:0:a'))).toBeUndefined();
  });

  it('requires a token on a fenced key (E2) and an equal or newer one (E4)', () => {
    const stored = h('100:2:n');
    expect(checkFencingToken(stored, undefined)).toBe(ERR.fencingTokenRequired);
    expect(checkFencingToken(stored, h('100:1:n'))).toBe(ERR.fencingTokenLower);
    expect(checkFencingToken(stored, h('99:9:z'))).toBe(ERR.fencingTokenLower);
    expect(checkFencingToken(stored, h('100:2:n'))).toBeUndefined();
    expect(checkFencingToken(stored, h('100:2:o'))).toBeUndefined();
    expect(checkFencingToken(stored, h('101:0:a'))).toBeUndefined();
  });

  it('keeps the newer token after a SET', () => {
    expect(nextFencingToken(undefined, h('5:0:a'))).toEqual(h('5:0:a'));
    expect(nextFencingToken(h('5:0:a'), undefined)).toEqual(h('5:0:a'));
    expect(nextFencingToken(h('5:0:a'), h('6:0:a'))).toEqual(h('6:0:a'));
    expect(nextFencingToken(h('6:0:a'), h('6:0:a'))).toEqual(h('6:0:a'));
  });

  it('uses the exact error strings of state-store-protocol.md §2.4', () => {
    expect(ERR.fencingTokenLower).toBe('the request fencing token is a lower version than the fencing token protecting the resource');
    expect(ERR.fencingTokenRequired).toBe('a fencing token is required for this request');
  });
});
