import { describe, expect, it } from 'vitest';
import { compileGlob, GLOB_SPECIALS, ruleCoversFilter, ruleMatchesTopic, substitute, TOPIC_WILDCARDS } from '../../../src/security/match.js';

describe('ruleCoversFilter', () => {
  it.each([
    ['a/#', 'a/b/c', true],
    ['a/#', 'a/+/c', true],
    ['a/#', 'a/#', true],
    ['a/#', 'a', true],
    ['a/+', 'a/b', true],
    ['a/+', 'a/+', true],
    ['a/+', 'a/#', false],
    ['a/+', 'a/b/c', false],
    ['a/b', 'a/+', false],
    ['a/b', 'a/b', true],
    ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/x', true],
    ['#', '#', true],
    ['+/+', '+/b', true],
    ['a/b/c', 'a/b', false],
  ])('%s covers %s: %s', (rule, filter, expected) => {
    expect(ruleCoversFilter(rule, filter)).toBe(expected);
  });

  it('checks the filter inside a shared subscription', () => {
    expect(ruleCoversFilter('a/#', '$share/group/a/b')).toBe(true);
    expect(ruleCoversFilter('a/#', '$share/group/b')).toBe(false);
  });
});

describe('ruleMatchesTopic and globs', () => {
  it('matches published topic names against rule filters', () => {
    expect(ruleMatchesTopic('a/+/c', 'a/b/c')).toBe(true);
    expect(ruleMatchesTopic('a/#', 'b')).toBe(false);
  });

  it('compiles *, ?, classes, negation and escapes', () => {
    expect(compileGlob('a*').test('abc')).toBe(true);
    expect(compileGlob('a?').test('ab')).toBe(true);
    expect(compileGlob('a?').test('abc')).toBe(false);
    expect(compileGlob('k[0-9]').test('k5')).toBe(true);
    expect(compileGlob('k[!0-9]').test('k5')).toBe(false);
    expect(compileGlob('k[^0-9]').test('kx')).toBe(true);
    expect(compileGlob('a\\*').test('a*')).toBe(true);
    expect(compileGlob('a\\*').test('ab')).toBe(false);
    expect(compileGlob('a.b(c)').test('a.b(c)')).toBe(true);
    expect(compileGlob('a.b').test('axb')).toBe(false);
    expect(compileGlob('[abc').test('[abc')).toBe(true);
  });

  it('substitutes tokens, failing on unknown tokens and forbidden values', () => {
    const who = { clientId: 'c1', username: 'u', attributes: { floor: '2' } };
    expect(substitute('x/{principal.clientId}/{principal.username}/{principal.attributes.floor}', who, TOPIC_WILDCARDS)).toBe('x/c1/u/2');
    expect(substitute('{principal.attributes.room}', who, TOPIC_WILDCARDS)).toBeUndefined();
    expect(substitute('{principal.unknown}', who, TOPIC_WILDCARDS)).toBeUndefined();
    expect(substitute('{principal.attributes.toString}', who, TOPIC_WILDCARDS)).toBeUndefined();
    expect(substitute('{principal.clientId}', { ...who, clientId: 'a+b' }, TOPIC_WILDCARDS)).toBeUndefined();
    // [AIO] no substituted value may hold a level separator or be empty, whatever the context's own forbidden set
    expect(substitute('d/{principal.clientId}/#', { ...who, clientId: 'alice-1/x' }, TOPIC_WILDCARDS)).toBeUndefined();
    expect(substitute('k/{principal.clientId}/*', { ...who, clientId: 'alice-1/x' }, GLOB_SPECIALS)).toBeUndefined();
    expect(substitute('k/{principal.clientId}/*', { ...who, clientId: 'a#' }, GLOB_SPECIALS)).toBeUndefined();
    expect(substitute('u/{principal.username}', { ...who, username: '' }, TOPIC_WILDCARDS)).toBeUndefined();
    expect(substitute('f/{principal.attributes.floor}', { ...who, attributes: { floor: '/' } }, TOPIC_WILDCARDS)).toBeUndefined();
  });
});
