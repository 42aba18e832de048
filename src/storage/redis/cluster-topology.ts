/**
 * A Redis Cluster's topology as the client needs it: which master serves each hash slot. Read from
 * the `CLUSTER SLOTS` reply, parsed defensively (a malformed reply is an error, never a crash).
 */
import { RedisErrorReply, type RedisReply } from './cluster-commands.js';
import { SLOT_COUNT } from './hash-slot.js';
import { nodeAddress } from './node-connection.js';

/** A node's host and port. */
export interface NodeEndpoint {
  host: string;
  port: number;
}

/** Which master (`host:port`) serves each slot, and every node named. */
export interface ClusterTopology {
  /** slots[slot] = the master's address, undefined for an uncovered slot. */
  readonly slots: readonly (string | undefined)[];
  /** The masters' addresses. */
  readonly masters: readonly string[];
  /** Every node named (masters and replicas). */
  readonly nodes: readonly string[];
  /**
   * Per master, the fewest replicas listed for any of its slot ranges (Redis 7 lists only replicas
   * not marked failed and with some replication offset). Absent in topologies built otherwise.
   */
  readonly replicaCounts?: ReadonlyMap<string, number>;
}

/** `host:port` (or `[v6]:port`) as an endpoint; an empty host is `defaultHost`. Undefined when malformed. */
export function parseEndpoint(text: string, defaultHost: string): NodeEndpoint | undefined {
  const colon = text.lastIndexOf(':');
  const portText = text.slice(colon + 1);
  if (colon === -1 || !/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  let host = text.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host: host === '' || host === '?' ? defaultHost : host, port };
}

function text(reply: RedisReply | undefined): string | undefined {
  return Buffer.isBuffer(reply) ? reply.toString('utf8') : undefined;
}

function isSlot(value: RedisReply | undefined): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < SLOT_COUNT;
}

/** The address of a `[ip, port, id, ...]` node entry of CLUSTER SLOTS, or undefined when malformed. */
function nodeOf(entry: RedisReply | undefined, defaultHost: string): string | undefined {
  if (!Array.isArray(entry)) return undefined;
  const ip = text(entry[0]);
  const port = entry[1];
  if (ip === undefined || typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return nodeAddress(ip === '' || ip === '?' ? defaultHost : ip, port);
}

/**
 * The topology in a `CLUSTER SLOTS` reply (`defaultHost`: the host of the node asked, for entries
 * whose IP is empty); a string saying what is wrong when the reply is not one.
 */
export function parseClusterSlots(reply: RedisReply, defaultHost: string): ClusterTopology | string {
  if (reply instanceof RedisErrorReply) return `CLUSTER SLOTS failed: ${reply.message}`;
  if (!Array.isArray(reply)) return 'CLUSTER SLOTS did not reply with an array';
  // Each slot is owned once: more ranges than slots, or a slot given twice, is not a topology (and
  // bounds the work a hostile reply can ask for to one pass over the 16384 slots).
  if (reply.length > SLOT_COUNT) return `CLUSTER SLOTS: ${reply.length} slot ranges, more than the ${SLOT_COUNT} slots`;
  const slots: (string | undefined)[] = new Array<string | undefined>(SLOT_COUNT).fill(undefined);
  const masters = new Set<string>();
  const nodes = new Set<string>();
  const replicaCounts = new Map<string, number>();
  for (const range of reply) {
    if (!Array.isArray(range) || range.length < 3) return 'CLUSTER SLOTS: a slot range is not [start, end, master, ...]';
    const [start, end] = range;
    if (!isSlot(start) || !isSlot(end) || end < start) return 'CLUSTER SLOTS: a slot range has invalid bounds';
    const master = nodeOf(range[2], defaultHost);
    if (master === undefined) return 'CLUSTER SLOTS: a master entry is malformed';
    masters.add(master);
    nodes.add(master);
    let replicas = 0;
    for (const replica of range.slice(3)) {
      const address = nodeOf(replica, defaultHost);
      if (address !== undefined) {
        nodes.add(address);
        replicas++;
      }
    }
    replicaCounts.set(master, Math.min(replicas, replicaCounts.get(master) ?? replicas));
    for (let slot = start; slot <= end; slot++) {
      if (slots[slot] !== undefined) return `CLUSTER SLOTS: slot ${slot} is in two ranges`;
      slots[slot] = master;
    }
  }
  return { slots, masters: [...masters], nodes: [...nodes], replicaCounts };
}
