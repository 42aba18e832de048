import { describe, expect, it } from 'vitest';
import { RedisErrorReply, type RedisReply } from '../../../../src/storage/redis/cluster-commands.js';
import { parseClusterSlots, parseEndpoint } from '../../../../src/storage/redis/cluster-topology.js';

const b = (text: string): Buffer => Buffer.from(text);
const node = (ip: string, port: number, id = 'id'): RedisReply[] => [b(ip), port, b(id)];

describe('CLUSTER SLOTS parsing', () => {
  it('maps every slot range to its master and lists masters and replicas', () => {
    const topology = parseClusterSlots(
      [
        [0, 5460, node('127.0.0.1', 7000), node('127.0.0.1', 7003)],
        [5461, 10922, node('127.0.0.1', 7001)],
        [10923, 16383, node('', 7002), node('127.0.0.1', 7004)], // an empty IP: the host asked
      ],
      '10.0.0.9',
    );
    expect(typeof topology).toBe('object');
    if (typeof topology === 'string') return;
    expect(topology.slots[0]).toBe('127.0.0.1:7000');
    expect(topology.slots[5460]).toBe('127.0.0.1:7000');
    expect(topology.slots[5461]).toBe('127.0.0.1:7001');
    expect(topology.slots[16383]).toBe('10.0.0.9:7002');
    expect(topology.masters).toEqual(['127.0.0.1:7000', '127.0.0.1:7001', '10.0.0.9:7002']);
    expect(topology.nodes).toContain('127.0.0.1:7004');
    // Replicas listed per master (degraded mode flags a master listed without enough of them).
    expect([...(topology.replicaCounts ?? [])]).toEqual([['127.0.0.1:7000', 1], ['127.0.0.1:7001', 0], ['10.0.0.9:7002', 1]]);
  });

  it('counts a master\'s replicas as the fewest listed over its ranges, malformed entries not counted', () => {
    const topology = parseClusterSlots(
      [
        [0, 99, node('h', 1), node('h', 2), node('h', 3)],
        [100, 199, node('h', 1), node('h', 2), [b('h'), b('not a port')]],
      ],
      'x',
    );
    if (typeof topology === 'string') throw new Error(topology);
    expect(topology.replicaCounts?.get('h:1')).toBe(1);
  });

  it('leaves uncovered slots undefined', () => {
    const topology = parseClusterSlots([[100, 200, node('h', 1)]], 'x');
    if (typeof topology === 'string') throw new Error(topology);
    expect(topology.slots[99]).toBeUndefined();
    expect(topology.slots[150]).toBe('h:1');
  });

  it.each<[string, RedisReply]>([
    ['an error reply', new RedisErrorReply('ERR This instance has cluster support disabled')],
    ['a non-array', 5],
    ['a range that is not an array', [5]],
    ['a slot beyond 16383', [[0, 16384, node('h', 1)]]],
    ['reversed bounds', [[10, 5, node('h', 1)]]],
    ['a slot in two ranges (the work a reply can ask for stays one pass over the slots)', [[0, 16383, node('h', 1)], [0, 16383, node('h', 2)]]],
    ['more ranges than slots', Array.from({ length: 16385 }, () => [0, 0, node('h', 1)])],
    ['a negative slot', [[-1, 5, node('h', 1)]]],
    ['a master without port', [[0, 5, [b('h')]]]],
    ['a port beyond 65535', [[0, 5, node('h', 70000)]]],
    ['a non-integer slot', [[0.5, 5, node('h', 1)]]],
  ])('reports %s as a reason, never throws', (_what, reply) => {
    expect(typeof parseClusterSlots(reply, 'h')).toBe('string');
  });
});

describe('endpoints', () => {
  it.each([
    ['127.0.0.1:7000', { host: '127.0.0.1', port: 7000 }],
    [':7000', { host: 'default', port: 7000 }], // MOVED to an unknown endpoint: the host asked
    ['[::1]:7000', { host: '::1', port: 7000 }],
    ['::1:7000', { host: '::1', port: 7000 }],
    ['redis.local:1', { host: 'redis.local', port: 1 }],
  ])('%s', (text, endpoint) => {
    expect(parseEndpoint(text, 'default')).toEqual(endpoint);
  });

  it.each(['7000', 'h:', 'h:0', 'h:65536', 'h:12a', 'h:123456'])('refuses %s', (text) => {
    expect(parseEndpoint(text, 'default')).toBeUndefined();
  });
});
