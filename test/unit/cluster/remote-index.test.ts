import { describe, expect, it } from 'vitest';
import { RemoteIndex } from '../../../src/cluster/remote-index.js';
import { topicMatches } from '../../../src/shared/topic.js';

interface V {
  readonly name: string;
}

function matches(index: RemoteIndex<V>, topic: string): { plain: string[]; groups: string[] } {
  const plain: string[] = [];
  const groups: string[] = [];
  index.match(topic, {
    onValue: (v) => plain.push(v.name),
    onGroup: (group, topicFilter, members) => groups.push(`${group}|${topicFilter}|${members.map((m) => m.name).join(',')}`),
  });
  return { plain: plain.sort(), groups: groups.sort() };
}

describe('RemoteIndex', () => {
  it('matches exact levels, + and # (the parent level too), and empty levels', () => {
    const index = new RemoteIndex<V>();
    for (const f of ['a/b', 'a/+', '+/b', 'a/#', '#', 'a/b/c', '+/+', 'a//b', 'a/+/#', '/']) index.add(f, { name: f });
    expect(matches(index, 'a/b').plain).toEqual(['#', '+/+', '+/b', 'a/#', 'a/+', 'a/+/#', 'a/b'].sort());
    expect(matches(index, 'a').plain).toEqual(['#', 'a/#'].sort());
    expect(matches(index, 'a/b/c').plain).toEqual(['#', 'a/#', 'a/+/#', 'a/b/c'].sort());
    expect(matches(index, 'a//b').plain).toEqual(['#', 'a/#', 'a/+/#', 'a//b'].sort());
    expect(matches(index, '/').plain).toEqual(['#', '+/+', '/'].sort());
    expect(matches(index, 'x').plain).toEqual(['#']);
  });

  it('does not match $-topics with a wildcard at the first level [MQTT-4.7.2-1]', () => {
    const index = new RemoteIndex<V>();
    for (const f of ['#', '+/x', '$SYS/#', '$SYS/+', '+', '$share/g/#', '$share/g/$SYS/x']) index.add(f, { name: f });
    expect(matches(index, '$SYS/x')).toEqual({ plain: ['$SYS/#', '$SYS/+'], groups: ['g|$SYS/x|$share/g/$SYS/x'] });
    expect(matches(index, '$SYS')).toEqual({ plain: ['$SYS/#'], groups: [] });
    expect(matches(index, 'y/x').plain).toEqual(['#', '+/x']);
  });

  it('reports shared groups under their topic filter, with every member', () => {
    const index = new RemoteIndex<V>();
    const a = { name: 'a' };
    const b = { name: 'b' };
    const c = { name: 'c' };
    index.add('$share/g1/s/+', a);
    index.add('$share/g1/s/+', b);
    index.add('$share/g2/s/+', c);
    index.add('$share/g1/s/#', c);
    index.add('s/+', a);
    expect(index.add('$share/g1/s/+', a)).toBe(false);
    expect(matches(index, 's/1')).toEqual({ plain: ['a'], groups: ['g1|s/#|c', 'g1|s/+|a,b', 'g2|s/+|c'] });
    expect(index.remove('$share/g1/s/+', a)).toBe(true);
    expect(matches(index, 's/1').groups).toEqual(['g1|s/#|c', 'g1|s/+|b', 'g2|s/+|c']);
    expect(index.add('$share//x', a)).toBe(false);
    expect(index.add('$share/g+/x', a)).toBe(false);
    expect(index.size).toBe(5 - 1);
  });

  it('agrees with topicMatches on many random filters, and removing them all leaves only the root', () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return Math.floor(seed / 65536) % n;
    };
    const words = ['a', 'b', 'c', '', '$x'];
    const filterLevel = (): string => ['a', 'b', 'c', '', '+', '+'][random(6)] as string;
    const filters: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const n = 1 + random(4);
      const levels = Array.from({ length: n }, filterLevel);
      if (random(4) === 0) levels.push('#');
      filters.push(levels.join('/'));
    }
    const index = new RemoteIndex<V>();
    const values = filters.map((f, i) => ({ name: `${i}:${f}` }));
    values.forEach((v, i) => index.add(filters[i] as string, v));
    expect(index.size).toBe(3000);
    expect(index.nodeCount).toBeGreaterThan(50);
    for (let t = 0; t < 300; t++) {
      const n = 1 + random(5);
      const topic = Array.from({ length: n }, () => words[random(words.length)] as string).join('/');
      const expected = values.filter((_, i) => topicMatches(filters[i] as string, topic)).map((v) => v.name).sort();
      expect(matches(index, topic).plain, topic).toEqual(expected);
    }
    values.forEach((v, i) => expect(index.remove(filters[i] as string, v)).toBe(true));
    expect(index.remove('a', { name: 'never' })).toBe(false);
    expect(index.size).toBe(0);
    expect(index.nodeCount).toBe(1);
  });

  it('a topic of 100,000 levels does not overflow the stack', () => {
    const index = new RemoteIndex<V>();
    const deep = Array.from({ length: 100_000 }, () => '+').join('/');
    index.add(deep, { name: 'deep' });
    index.add('#', { name: 'all' });
    const topic = Array.from({ length: 100_000 }, () => 'x').join('/');
    expect(matches(index, topic).plain).toEqual(['all', 'deep']);
    index.remove(deep, { name: 'other' });
    expect(index.nodeCount).toBe(100_002);
    index.clear();
    expect(index.nodeCount).toBe(1);
  });
});
