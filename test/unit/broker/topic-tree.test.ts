import { describe, expect, it } from 'vitest';
import type { Session } from '../../../src/broker/session.js';
import { TopicTree, type MatchVisitor, type SharedGroup, type Subscription } from '../../../src/broker/topic-tree.js';
import { parseSharedFilter } from '../../../src/shared/topic.js';

/** A stand-in session: the tree only uses identity, `connected` and `congested`. */
function session(name: string, connected = true, congested = false): Session {
  return { clientId: name, connected, congested } as unknown as Session;
}

function sub(s: Session, filter: string, qos: 0 | 1 | 2 = 0): Subscription {
  const shared = parseSharedFilter(filter);
  const group = typeof shared === 'object' ? shared : undefined;
  return {
    session: s,
    filter,
    topicFilter: group?.filter ?? filter,
    qos,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
    subscriptionId: undefined,
    group: group?.group,
  };
}

function match(tree: TopicTree, topic: string): { subs: string[]; groups: SharedGroup[] } {
  const subs: string[] = [];
  const groups: SharedGroup[] = [];
  const visitor: MatchVisitor = {
    subscription: (s) => subs.push(`${s.session.clientId}:${s.filter}`),
    group: (g) => groups.push(g),
  };
  tree.match(topic, visitor);
  return { subs: subs.sort(), groups };
}

describe('TopicTree', () => {
  it('matches exact, +, # and the parent of # [MQTT-4.7.1-2]', () => {
    const tree = new TopicTree();
    const a = session('a');
    for (const f of ['a/b/c', 'a/+/c', 'a/#', '#', '+/b/+', 'x/y']) tree.add(sub(a, f));
    expect(tree.size).toBe(6);
    expect(match(tree, 'a/b/c').subs).toEqual(['a:#', 'a:+/b/+', 'a:a/#', 'a:a/+/c', 'a:a/b/c']);
    expect(match(tree, 'a').subs).toEqual(['a:#', 'a:a/#']);
    expect(match(tree, 'x/y').subs).toEqual(['a:#', 'a:x/y']);
    expect(match(tree, 'x/y/z').subs).toEqual(['a:#']);
    expect(match(tree, 'a/b').subs).toEqual(['a:#', 'a:a/#']);
  });

  it('topics starting with $ are not matched by filters starting with a wildcard [MQTT-4.7.2-1]', () => {
    const tree = new TopicTree();
    const a = session('a');
    for (const f of ['#', '+/broker/#', '$SYS/#', '$SYS/+/uptime', '+/+/uptime']) tree.add(sub(a, f));
    expect(match(tree, '$SYS/broker/uptime').subs).toEqual(['a:$SYS/#', 'a:$SYS/+/uptime']);
    expect(match(tree, 'sys/broker/uptime').subs).toEqual(['a:#', 'a:+/+/uptime', 'a:+/broker/#']);
    expect(match(tree, 'a/$b').subs).toEqual(['a:#']);
  });

  it('replaces a session\'s subscription to the same filter [MQTT-3.8.4-3]', () => {
    const tree = new TopicTree();
    const a = session('a');
    tree.add(sub(a, 'a/b', 0));
    tree.add(sub(a, 'a/b', 2));
    expect(tree.size).toBe(1);
    let qos = -1;
    tree.match('a/b', { subscription: (s) => (qos = s.qos), group: () => undefined });
    expect(qos).toBe(2);
  });

  it('keeps one subscription per session per filter and removes only that one', () => {
    const tree = new TopicTree();
    const a = session('a');
    const b = session('b');
    tree.add(sub(a, 'a/+'));
    tree.add(sub(b, 'a/+'));
    expect(match(tree, 'a/x').subs).toEqual(['a:a/+', 'b:a/+']);
    expect(tree.remove(sub(a, 'a/+'))).toBe(true);
    expect(tree.remove(sub(a, 'a/+'))).toBe(false);
    expect(match(tree, 'a/x').subs).toEqual(['b:a/+']);
    expect(tree.size).toBe(1);
  });

  it('remove of an unknown filter is false and changes nothing', () => {
    const tree = new TopicTree();
    const a = session('a');
    tree.add(sub(a, 'a/b'));
    expect(tree.remove(sub(a, 'a/c'))).toBe(false);
    expect(tree.remove(sub(a, 'a/b/c'))).toBe(false);
    expect(tree.remove(sub(session('z'), 'a/b'))).toBe(false);
    expect(tree.size).toBe(1);
  });

  it('prunes back to empty: size 0 and nothing matches after removing everything', () => {
    const tree = new TopicTree();
    const sessions = [session('a'), session('b')];
    const filters = ['a/b/c', 'a/b', 'a/#', '#', '+', 'x/+/z/#', '$share/g/a/b', '$share/h/#'];
    for (const s of sessions) for (const f of filters) tree.add(sub(s, f));
    expect(tree.size).toBe(16);
    for (const s of sessions) for (const f of filters) expect(tree.remove(sub(s, f))).toBe(true);
    expect(tree.size).toBe(0);
    expect(match(tree, 'a/b/c')).toEqual({ subs: [], groups: [] });
    // Re-adding after pruning works as on a fresh tree.
    tree.add(sub(sessions[0] as Session, 'a/b'));
    expect(match(tree, 'a/b').subs).toEqual(['a:a/b']);
  });

  describe('shared groups', () => {
    it('a group matches once, whatever its member count [MQTT-4.8.2-4]', () => {
      const tree = new TopicTree();
      const members = [session('m1'), session('m2'), session('m3')];
      for (const m of members) tree.add(sub(m, '$share/g/s/+'));
      tree.add(sub(members[0] as Session, '$share/other/s/#'));
      expect(tree.size).toBe(4);
      const { subs, groups } = match(tree, 's/x');
      expect(subs).toEqual([]);
      expect(groups.map((g) => `${g.name}:${g.topicFilter}:${g.members.length}`).sort()).toEqual(['g:s/+:3', 'other:s/#:1']);
    });

    it('pick() goes round-robin over members', () => {
      const tree = new TopicTree();
      const members = [session('m1'), session('m2'), session('m3')];
      for (const m of members) tree.add(sub(m, '$share/g/t'));
      const [group] = match(tree, 't').groups;
      const picks = Array.from({ length: 7 }, () => group?.pick()?.session.clientId);
      expect(picks).toEqual(['m1', 'm2', 'm3', 'm1', 'm2', 'm3', 'm1']);
    });

    it('pick() prefers connected members and falls back to a disconnected one', () => {
      const tree = new TopicTree();
      const online = session('on');
      const offline1 = session('off1', false);
      const offline2 = session('off2', false);
      for (const m of [offline1, online, offline2]) tree.add(sub(m, '$share/g/t'));
      const group = match(tree, 't').groups[0] as SharedGroup;
      expect([group.pick(), group.pick(), group.pick()].map((m) => m?.session.clientId)).toEqual(['on', 'on', 'on']);
      (online as unknown as { connected: boolean }).connected = false;
      const fallback = group.pick();
      expect(fallback).toBeDefined();
      expect(['off1', 'on', 'off2']).toContain(fallback?.session.clientId);
    });

    it('pick() passes over a connected member whose queue is congested, and takes it when all are', () => {
      const tree = new TopicTree();
      const stuck = session('stuck', true, true);
      const ok1 = session('ok1');
      const ok2 = session('ok2');
      for (const m of [stuck, ok1, ok2]) tree.add(sub(m, '$share/g/t'));
      const group = match(tree, 't').groups[0] as SharedGroup;
      expect(Array.from({ length: 4 }, () => group.pick()?.session.clientId)).toEqual(['ok1', 'ok2', 'ok1', 'ok2']);
      for (const m of [ok1, ok2]) (m as unknown as { congested: boolean }).congested = true;
      expect(Array.from({ length: 3 }, () => group.pick()?.session.clientId)).toEqual(['stuck', 'ok1', 'ok2']);
    });

    it('pick(except) skips the member that is going away', () => {
      const tree = new TopicTree();
      const m1 = session('m1');
      const m2 = session('m2');
      tree.add(sub(m1, '$share/g/t'));
      tree.add(sub(m2, '$share/g/t'));
      const group = match(tree, 't').groups[0] as SharedGroup;
      for (let i = 0; i < 4; i++) expect(group.pick(m1)?.session).toBe(m2);
      tree.remove(sub(m2, '$share/g/t'));
      expect(group.pick(m1)).toBeUndefined();
    });

    it('an empty group is removed; a re-created group starts fresh', () => {
      const tree = new TopicTree();
      const m1 = session('m1');
      tree.add(sub(m1, '$share/g/t'));
      expect(tree.remove(sub(m1, '$share/g/t'))).toBe(true);
      expect(tree.remove(sub(m1, '$share/g/t'))).toBe(false);
      expect(tree.size).toBe(0);
      expect(match(tree, 't').groups).toEqual([]);
    });

    it('a member joining a group twice is replaced, not duplicated', () => {
      const tree = new TopicTree();
      const m1 = session('m1');
      tree.add(sub(m1, '$share/g/t', 0));
      tree.add(sub(m1, '$share/g/t', 1));
      expect(tree.size).toBe(1);
      const group = match(tree, 't').groups[0] as SharedGroup;
      expect(group.members.map((m) => m.qos)).toEqual([1]);
    });

    it('a plain and a shared subscription of the same session both match', () => {
      const tree = new TopicTree();
      const a = session('a');
      tree.add(sub(a, 't/#'));
      tree.add(sub(a, '$share/g/t/#'));
      const { subs, groups } = match(tree, 't/1');
      expect(subs).toEqual(['a:t/#']);
      expect(groups).toHaveLength(1);
      expect(tree.remove(sub(a, 't/#'))).toBe(true);
      expect(match(tree, 't/1').groups).toHaveLength(1);
    });
  });
});
