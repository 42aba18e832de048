/**
 * An in-memory index of MQTT topic filters → values, generic over the value type: a trie keyed by
 * topic level, matching a topic name against filters with `+` and `#`. Filters starting with a
 * wildcard do not match topics starting with `$` [MQTT-4.7.2-1]. A shared filter
 * `$share/<group>/<filter>` is indexed under its topic filter and reported per group with its
 * members. Values are told apart by identity. Removing the last value of a node removes the node and
 * every ancestor left empty, so the index holds nothing but what was added and not removed.
 * (The engine's `broker/topic-tree.ts` is bound to its sessions; this one is generic.)
 */
import { parseSharedFilter } from '../shared/topic.js';

class Node<T> {
  readonly children = new Map<string, Node<T>>();
  /** Plain (non-shared) values whose filter ends here. */
  readonly plain = new Set<T>();
  /** Shared groups whose topic filter ends here: group name → members, in the order added. */
  readonly groups = new Map<string, T[]>();

  constructor(
    readonly parent: Node<T> | undefined,
    readonly level: string,
  ) {}

  get empty(): boolean {
    return this.children.size === 0 && this.plain.size === 0 && this.groups.size === 0;
  }
}

/** A filter as the index files it: its levels, and its group when shared. */
interface FilterKey {
  readonly levels: readonly string[];
  readonly group: string | undefined;
}

/** Receives the matches of a topic. */
export interface RemoteIndexVisitor<T> {
  /** A plain value whose filter matches. */
  onValue(value: T): void;
  /** A shared group whose topic filter matches, with all its members (the array must not be kept or changed). */
  onGroup(group: string, topicFilter: string, members: readonly T[]): void;
}

/** See the file's comment. */
export class RemoteIndex<T> {
  private readonly root = new Node<T>(undefined, '');
  private values = 0;
  private nodes = 1;

  /** Values held (each member of a group counts once). */
  get size(): number {
    return this.values;
  }

  /** Trie nodes, the root included (1 when empty): for tests of the bound. */
  get nodeCount(): number {
    return this.nodes;
  }

  /**
   * Adds `value` under `filter` (as subscribed: `$share/<group>/<filter>` files it in the group).
   * False when the filter is a malformed shared filter (nothing is added) or the value is already
   * there.
   */
  add(filter: string, value: T): boolean {
    const key = keyOf(filter);
    if (key === undefined) return false;
    let node = this.root;
    for (const level of key.levels) {
      let child = node.children.get(level);
      if (child === undefined) {
        child = new Node<T>(node, level);
        node.children.set(level, child);
        this.nodes++;
      }
      node = child;
    }
    if (key.group === undefined) {
      if (node.plain.has(value)) return false;
      node.plain.add(value);
    } else {
      const members = node.groups.get(key.group);
      if (members === undefined) node.groups.set(key.group, [value]);
      else if (members.includes(value)) return false;
      else members.push(value);
    }
    this.values++;
    return true;
  }

  /** Removes `value` from under `filter`; prunes the nodes left empty. False when it was not there. */
  remove(filter: string, value: T): boolean {
    const key = keyOf(filter);
    if (key === undefined) return false;
    let node: Node<T> | undefined = this.root;
    for (const level of key.levels) {
      node = node.children.get(level);
      if (node === undefined) return false;
    }
    if (key.group === undefined) {
      if (!node.plain.delete(value)) return false;
    } else {
      const members = node.groups.get(key.group);
      const at = members === undefined ? -1 : members.indexOf(value);
      if (members === undefined || at === -1) return false;
      members.splice(at, 1);
      if (members.length === 0) node.groups.delete(key.group);
    }
    this.values--;
    this.prune(node);
    return true;
  }

  /** Removes everything. */
  clear(): void {
    this.root.children.clear();
    this.root.plain.clear();
    this.root.groups.clear();
    this.values = 0;
    this.nodes = 1;
  }

  /**
   * Visits every plain value and every shared group whose filter matches `topic` (a topic name:
   * no wildcards). Iterative, so a topic of many levels cannot overflow the stack.
   */
  match(topic: string, visitor: RemoteIndexVisitor<T>): void {
    const levels = topic.split('/');
    const dollar = topic.startsWith('$'); // [MQTT-4.7.2-1]
    const stack: { node: Node<T>; depth: number }[] = [{ node: this.root, depth: 0 }];
    for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
      const { node, depth } = item;
      const wild = !(dollar && depth === 0);
      if (wild) {
        const hash = node.children.get('#'); // '#' matches the parent level too [MQTT-4.7.1-2]
        if (hash !== undefined) visit(hash, visitor);
      }
      if (depth === levels.length) {
        visit(node, visitor);
        continue;
      }
      const exact = node.children.get(levels[depth] ?? '');
      if (exact !== undefined) stack.push({ node: exact, depth: depth + 1 });
      if (wild) {
        const plus = node.children.get('+');
        if (plus !== undefined) stack.push({ node: plus, depth: depth + 1 });
      }
    }
  }

  private prune(from: Node<T>): void {
    let node: Node<T> | undefined = from;
    while (node?.parent !== undefined && node.empty) {
      node.parent.children.delete(node.level);
      this.nodes--;
      node = node.parent;
    }
  }
}

function visit<T>(node: Node<T>, visitor: RemoteIndexVisitor<T>): void {
  for (const value of node.plain) visitor.onValue(value);
  for (const [group, members] of node.groups) visitor.onGroup(group, topicFilterOf(node), members);
}

/** The topic filter a node stands for (its levels joined), built only when a group matched. */
function topicFilterOf<T>(node: Node<T>): string {
  const levels: string[] = [];
  for (let at: Node<T> | undefined = node; at?.parent !== undefined; at = at.parent) levels.push(at.level);
  return levels.reverse().join('/');
}

/** How `filter` is filed; undefined for a malformed shared filter. */
function keyOf(filter: string): FilterKey | undefined {
  const shared = parseSharedFilter(filter);
  if (typeof shared === 'string') return undefined;
  const topicFilter = shared === undefined ? filter : shared.filter;
  return { levels: topicFilter.split('/'), group: shared?.group };
}
