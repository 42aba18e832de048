import type { Session } from './session.js';

/** A subscription of one session to one filter. */
export interface Subscription {
  readonly session: Session;
  /** The filter as subscribed (`$share/g/f` for shared ones). */
  readonly filter: string;
  /** The filter matched against topics (without `$share/g/`). */
  readonly topicFilter: string;
  readonly qos: 0 | 1 | 2;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: 0 | 1 | 2;
  readonly subscriptionId: number | undefined;
  /** Share name for `$share/{group}/...` subscriptions. */
  readonly group: string | undefined;
}

/** The members of one `$share/{group}/{filter}`; messages go round-robin to connected members. */
export class SharedGroup {
  readonly name: string;
  readonly topicFilter: string;
  readonly members: Subscription[] = [];
  #next = 0;

  constructor(name: string, topicFilter: string) {
    this.name = name;
    this.topicFilter = topicFilter;
  }

  /**
   * Picks the next member round-robin, preferring connected members that keep up (not congested:
   * a stuck member does not get its share only to drop it at its queue bound), then connected
   * ones, then any; `except` is skipped (a member whose connection is going away).
   */
  pick(except?: Session): Subscription | undefined {
    const n = this.members.length;
    let busy: Subscription | undefined;
    let busyIndex = 0;
    let fallback: Subscription | undefined;
    for (let i = 0; i < n; i++) {
      const index = (this.#next + i) % n;
      const member = this.members[index] as Subscription;
      if (member.session === except) continue;
      if (member.session.connected) {
        if (member.session.congested) {
          if (busy === undefined) [busy, busyIndex] = [member, index];
          continue;
        }
        this.#next = (index + 1) % n;
        return member;
      }
      fallback ??= member;
    }
    if (busy !== undefined) {
      this.#next = (busyIndex + 1) % n;
      return busy;
    }
    if (fallback !== undefined) this.#next = (this.#next + 1) % Math.max(n, 1);
    return fallback;
  }
}

class Node {
  readonly children = new Map<string, Node>();
  readonly subs = new Map<Session, Subscription>();
  readonly groups = new Map<string, SharedGroup>();
}

/** Receives the matches of a topic: plain subscriptions and shared groups. */
export interface MatchVisitor {
  subscription(sub: Subscription): void;
  group(group: SharedGroup): void;
}

/** Subscription trie over topic levels, with shared groups at their filter's node. */
export class TopicTree {
  readonly #root = new Node();
  #count = 0;

  /** Subscriptions held (shared ones per member). */
  get size(): number {
    return this.#count;
  }

  /** Adds or replaces the session's subscription to `sub.filter` [MQTT-3.8.4-3]. */
  add(sub: Subscription): void {
    const node = this.#node(sub.topicFilter, true) as Node;
    if (sub.group === undefined) {
      if (!node.subs.has(sub.session)) this.#count++;
      node.subs.set(sub.session, sub);
      return;
    }
    let group = node.groups.get(sub.group);
    if (group === undefined) {
      group = new SharedGroup(sub.group, sub.topicFilter);
      node.groups.set(sub.group, group);
    }
    const at = group.members.findIndex((m) => m.session === sub.session);
    if (at >= 0) group.members[at] = sub;
    else {
      group.members.push(sub);
      this.#count++;
    }
  }

  /** Removes the session's subscription; true when one existed. */
  remove(sub: Pick<Subscription, 'session' | 'topicFilter' | 'group'>): boolean {
    const path: Node[] = [];
    const node = this.#node(sub.topicFilter, false, path);
    if (node === undefined) return false;
    let removed = false;
    if (sub.group === undefined) removed = node.subs.delete(sub.session);
    else {
      const group = node.groups.get(sub.group);
      const at = group?.members.findIndex((m) => m.session === sub.session) ?? -1;
      if (group !== undefined && at >= 0) {
        group.members.splice(at, 1);
        if (group.members.length === 0) node.groups.delete(sub.group);
        removed = true;
      }
    }
    if (removed) {
      this.#count--;
      this.#prune(sub.topicFilter, path);
    }
    return removed;
  }

  /**
   * Visits every subscription and shared group whose filter matches `topic`. Iterative (an explicit
   * stack, no recursion): a topic of any depth cannot overflow the call stack.
   */
  match(topic: string, visitor: MatchVisitor): void {
    const levels = topic.split('/');
    // [MQTT-4.7.2-1] filters starting with a wildcard do not match topics starting with '$'
    const dollar = topic.startsWith('$');
    const nodes: Node[] = [this.#root];
    const depths: number[] = [0];
    for (let top = nodes.pop(); top !== undefined; top = nodes.pop()) {
      const node = top;
      const depth = depths.pop() as number;
      const wildcardsAllowed = !(dollar && depth === 0);
      if (wildcardsAllowed) {
        const hash = node.children.get('#'); // '#' matches this level and all below, parent included
        if (hash !== undefined) this.#emit(hash, visitor);
      }
      if (depth === levels.length) {
        this.#emit(node, visitor);
        continue;
      }
      // Pushed in reverse so the exact level is visited before '+', as the recursive walk did.
      if (wildcardsAllowed) {
        const plus = node.children.get('+');
        if (plus !== undefined) {
          nodes.push(plus);
          depths.push(depth + 1);
        }
      }
      const exact = node.children.get(levels[depth] as string);
      if (exact !== undefined) {
        nodes.push(exact);
        depths.push(depth + 1);
      }
    }
  }

  #emit(node: Node, visitor: MatchVisitor): void {
    for (const sub of node.subs.values()) visitor.subscription(sub);
    for (const group of node.groups.values()) visitor.group(group);
  }

  /** The shared group `$share/<name>/<topicFilter>`, when it has members here. */
  groupOf(topicFilter: string, name: string): SharedGroup | undefined {
    return this.#node(topicFilter, false)?.groups.get(name);
  }

  #node(filter: string, create: boolean, path?: Node[]): Node | undefined {
    let node = this.#root;
    for (const level of filter.split('/')) {
      path?.push(node);
      let child = node.children.get(level);
      if (child === undefined) {
        if (!create) return undefined;
        child = new Node();
        node.children.set(level, child);
      }
      node = child;
    }
    return node;
  }

  #prune(filter: string, path: Node[]): void {
    const levels = filter.split('/');
    for (let i = levels.length - 1; i >= 0; i--) {
      const parent = path[i] as Node;
      const child = parent.children.get(levels[i] as string);
      if (child === undefined || child.subs.size > 0 || child.groups.size > 0 || child.children.size > 0) return;
      parent.children.delete(levels[i] as string);
    }
  }
}
