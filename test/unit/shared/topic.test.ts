import { describe, expect, it } from 'vitest';
import { checkTopicFilter, checkTopicName, parseSharedFilter, topicMatches } from '../../../src/shared/topic.js';

describe('checkTopicName', () => {
  const valid = ['a', 'a/b/c', '/', '/a', 'a/', 'a//b', ' ', 'sensors/büro/😀', '$SYS/broker', 'x'.repeat(65_535)];
  const invalid: [string, string][] = [
    ['', 'empty [MQTT-4.7.3-1]'],
    ['a/+', 'plus [MQTT-3.3.2-2]'],
    ['+', 'plus alone'],
    ['a/#', 'hash [MQTT-3.3.2-2]'],
    ['a#b', 'hash inside a level'],
    ['a\u0000b', 'U+0000 [MQTT-4.7.3-2]'],
    ['x'.repeat(65_536), 'longer than 65535 bytes [MQTT-4.7.3-3]'],
    ['ü'.repeat(32_768), '65536 bytes in 32768 characters'],
  ];
  for (const topic of valid) it(`accepts ${JSON.stringify(topic.slice(0, 20))}`, () => expect(checkTopicName(topic)).toBeUndefined());
  for (const [topic, why] of invalid) it(`refuses ${why}`, () => expect(typeof checkTopicName(topic)).toBe('string'));
});

describe('checkTopicFilter', () => {
  const valid = ['#', '+', 'a/#', 'a/+/b', '+/+', '/+', '+/', 'a//#', '$SYS/#', 'a/b', 'sport/tennis/+/#'];
  const invalid: [string, string][] = [
    ['', 'empty [MQTT-4.7.3-1]'],
    ['a/#/b', '# not last [MQTT-4.7.1-1]'],
    ['a#', '# sharing a level [MQTT-4.7.1-1]'],
    ['#/', '# followed by a level'],
    ['a/b+', '+ sharing a level [MQTT-4.7.1-2]'],
    ['+a/b', '+ sharing a level at the start'],
    ['a/\u0000', 'U+0000 [MQTT-4.7.3-2]'],
    ['x'.repeat(65_536), 'too long'],
  ];
  for (const filter of valid) it(`accepts ${filter}`, () => expect(checkTopicFilter(filter)).toBeUndefined());
  for (const [filter, why] of invalid) it(`refuses ${why}`, () => expect(typeof checkTopicFilter(filter)).toBe('string'));
});

describe('parseSharedFilter', () => {
  it('returns undefined for non-shared filters', () => {
    for (const f of ['a/b', '#', '$SYS/#', '$shared/g/a', 'share/g/a']) expect(parseSharedFilter(f)).toBeUndefined();
  });
  it('parses group and filter [MQTT-4.8.2-1]', () => {
    expect(parseSharedFilter('$share/g1/a/+/c')).toEqual({ group: 'g1', filter: 'a/+/c' });
    expect(parseSharedFilter('$share/g/#')).toEqual({ group: 'g', filter: '#' });
    expect(parseSharedFilter('$share/group/$SYS/x')).toEqual({ group: 'group', filter: '$SYS/x' });
    expect(parseSharedFilter('$share/g//')).toEqual({ group: 'g', filter: '/' });
  });
  const invalid: [string, string][] = [
    ['$share/', 'no group'],
    ['$share//a', 'empty group [MQTT-4.8.2-1]'],
    ['$share/g', 'no filter'],
    ['$share/g/', 'empty filter'],
    ['$share/g+/a', '+ in the group [MQTT-4.8.2-2]'],
    ['$share/g#/a', '# in the group [MQTT-4.8.2-2]'],
    ['$share/g/a/#/b', 'invalid inner filter'],
  ];
  for (const [filter, why] of invalid) it(`refuses ${why}`, () => expect(typeof parseSharedFilter(filter)).toBe('string'));
});

describe('topicMatches', () => {
  const table: [string, string, boolean][] = [
    ['a/b', 'a/b', true],
    ['a/b', 'a/c', false],
    ['a/b', 'a/b/c', false],
    ['a/b/c', 'a/b', false],
    ['+', 'a', true],
    ['+', 'a/b', false],
    ['+', '', true],
    ['+/+', '/a', true],
    ['/+', '/a', true],
    ['+', '/a', false],
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a//c', true],
    ['a/+/c', 'a/b/d', false],
    ['#', 'a', true],
    ['#', 'a/b/c', true],
    ['#', '/', true],
    ['a/#', 'a', true], // [MQTT-4.7.1-2] '#' also matches the parent
    ['a/#', 'a/b/c', true],
    ['a/#', 'ab', false],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking/wimbledon', true],
    ['sport/+', 'sport', false],
    ['sport/+', 'sport/', true],
    ['#', '$SYS/broker', false], // [MQTT-4.7.2-1]
    ['+/broker', '$SYS/broker', false], // [MQTT-4.7.2-1]
    ['$SYS/#', '$SYS/broker/uptime', true],
    ['$SYS/+/uptime', '$SYS/broker/uptime', true],
    ['a/$b', 'a/$b', true],
    ['+/$b', 'a/$b', true],
    ['A/b', 'a/b', false], // case sensitive
  ];
  for (const [filter, topic, result] of table) {
    it(`${filter} ${result ? 'matches' : 'does not match'} ${JSON.stringify(topic)}`, () => expect(topicMatches(filter, topic)).toBe(result));
  }
});
