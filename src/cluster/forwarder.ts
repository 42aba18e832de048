/**
 * The publishing side of cluster routing. For a message published on this frontend it finds, in the
 * subscription directory, the sessions of other frontends the message is for, takes this frontend's
 * turn in the cluster-wide round robin of each shared group, and hands one inbox frame per owning
 * frontend to `send`. A retained message also goes to `sendRetained` (the retained change stream every
 * frontend tails to keep its copy).
 */
import type { ForwardTarget } from '../broker/cluster-link.js';
import type { Message } from '../broker/message.js';
import type { SharedGroup } from '../broker/topic-tree.js';
import type { Completion } from '../storage/broker-store.js';

/** A directory entry as the forwarder needs it. */
export interface RoutedEntry {
  readonly clientId: string;
  /** The frontend owning the session. */
  readonly owner: string;
}

/** What the forwarder reads of the subscription directory. */
export interface DirectoryView {
  /** Entries of other frontends matching `topic`: plain ones, and each shared group with its members cluster-wide. */
  match(
    topic: string,
    onEntry: (entry: RoutedEntry) => void,
    onGroup: (group: string, topicFilter: string, members: readonly RoutedEntry[]) => void,
  ): void;
}

/** Sends one frame to a frontend's inbox; the promise is the durable write's (QoS >= 1 and retained). */
export type SendMessage = (frontendId: string, message: Message, targets: readonly ForwardTarget[], durable: boolean) => Promise<void>;

/** At most this many round-robin counters are kept (one per shared group seen); past it they start again. */
const MAX_COUNTERS = 10_000;

interface RemoteGroup {
  readonly group: string;
  readonly topicFilter: string;
  /** Members on other frontends. */
  readonly members: readonly RoutedEntry[];
  /** Set once picked for the message being published. */
  picked: RoutedEntry | undefined;
  /** True once the round robin went to a local member (the router delivers it). */
  local: boolean;
}

const groupKey = (group: string, topicFilter: string): string => `${group}\u0000${topicFilter}`;

/** See the file's comment. One per frontend; `prepare`, `pickLocally`, `forward` run synchronously per message. */
export class Forwarder {
  readonly #directory: DirectoryView;
  readonly #self: string;
  readonly #send: SendMessage;
  readonly #sendRetained: (message: Message) => Promise<void>;
  readonly #counters = new Map<string, number>();
  /** Plain targets of the prepared message by owning frontend. */
  readonly #targets = new Map<string, ForwardTarget[]>();
  readonly #seen = new Set<string>();
  readonly #groups = new Map<string, RemoteGroup>();
  #prepared: Message | undefined;

  constructor(directory: DirectoryView, self: string, send: SendMessage, sendRetained: (message: Message) => Promise<void>) {
    this.#directory = directory;
    this.#self = self;
    this.#send = send;
    this.#sendRetained = sendRetained;
  }

  /** Finds the message's remote targets (see ClusterLink.prepare). */
  prepare(message: Message): void {
    this.#clear();
    this.#prepared = message;
    this.#directory.match(
      message.topic,
      (entry) => {
        if (entry.owner === this.#self) return;
        const key = `${entry.owner}\u0000${entry.clientId}`;
        if (this.#seen.has(key)) return; // several matching subscriptions: one delivery [MQTT-3.3.4-2]
        this.#seen.add(key);
        this.#targetsOf(entry.owner).push({ clientId: entry.clientId });
      },
      (group, topicFilter, members) => {
        const remote = members.filter((member) => member.owner !== this.#self);
        if (remote.length > 0) this.#groups.set(groupKey(group, topicFilter), { group, topicFilter, members: remote, picked: undefined, local: false });
      },
    );
  }

  /**
   * The router matched `group`, which has members here: true when the cluster-wide round robin
   * gives this message to a local member [MQTT-4.8.2-4] (the router then picks which), false when it
   * goes to a member on another frontend.
   */
  pickLocally(group: SharedGroup): boolean {
    if (this.#prepared === undefined) return true;
    const remote = this.#groups.get(groupKey(group.name, group.topicFilter));
    if (remote === undefined) return true;
    const local = group.members.length;
    const turn = this.#turn(groupKey(group.name, group.topicFilter), local + remote.members.length);
    if (turn < local) {
      remote.local = true;
      return true;
    }
    remote.picked = remote.members[turn - local];
    return false;
  }

  /** Sends the prepared message (see ClusterLink.forward). */
  forward(message: Message): { matched: number; completion: Completion } {
    if (this.#prepared !== message) {
      this.#clear();
      return { matched: 0, completion: undefined };
    }
    let matched = 0;
    for (const targets of this.#targets.values()) matched += targets.length;
    for (const [key, remote] of this.#groups) {
      if (remote.local) continue;
      // A group with no member here was never asked about: its pick is made now.
      const picked = remote.picked ?? remote.members[this.#turn(key, remote.members.length)];
      if (picked === undefined) continue;
      matched++;
      this.#targetsOf(picked.owner).push({ clientId: picked.clientId, group: remote.group, topicFilter: remote.topicFilter });
    }
    const durable = message.qos > 0 || message.retain;
    let first: Promise<void> | undefined;
    let all: Promise<void>[] | undefined;
    if (message.retain) first = this.#sendRetained(message);
    for (const [frontend, targets] of this.#targets) {
      const write = this.#send(frontend, message, targets, durable);
      if (first === undefined) first = write;
      else (all ??= [first]).push(write);
    }
    this.#clear();
    if (!durable) {
      for (const write of all ?? (first === undefined ? [] : [first])) write.catch(() => undefined); // at most once
      return { matched, completion: undefined };
    }
    return { matched, completion: all !== undefined ? Promise.all(all).then(() => undefined) : first };
  }

  /**
   * A member of `$share/<name>/<topicFilter>` on another frontend for a message on `topic` (round
   * robin), undefined when the group has none: a gone member's deliveries go there.
   */
  pickRemoteMember(topic: string, name: string, topicFilter: string): RoutedEntry | undefined {
    let members: RoutedEntry[] = [];
    this.#directory.match(
      topic,
      () => undefined,
      (group, filter, all) => {
        if (group === name && filter === topicFilter) members = all.filter((member) => member.owner !== this.#self);
      },
    );
    if (members.length === 0) return undefined;
    return members[this.#turn(groupKey(name, topicFilter), members.length)];
  }

  #targetsOf(frontend: string): ForwardTarget[] {
    let targets = this.#targets.get(frontend);
    if (targets === undefined) {
      targets = [];
      this.#targets.set(frontend, targets);
    }
    return targets;
  }

  /** The next turn of a group's round robin over `members` members. */
  #turn(key: string, members: number): number {
    if (this.#counters.size >= MAX_COUNTERS && !this.#counters.has(key)) this.#counters.clear();
    const count = this.#counters.get(key) ?? 0;
    this.#counters.set(key, count + 1);
    return count % members;
  }

  /** Forgets the prepared message; runs on every publish, so only what holds something is cleared. */
  #clear(): void {
    this.#prepared = undefined;
    if (this.#targets.size > 0) this.#targets.clear();
    if (this.#seen.size > 0) this.#seen.clear();
    if (this.#groups.size > 0) this.#groups.clear();
  }
}
