/**
 * What the supervisor asks a local Redis node (one short connection per question, over our own
 * `NodeConnection`): its role, cluster state, replication and memory. Replies are parsed
 * defensively: anything unexpected reads as "not known", never as an exception.
 */
import { NodeConnection } from '../../storage/redis/node-connection.js';
import { RedisErrorReply, type RedisCommand, type RedisReply } from '../../storage/redis/cluster-commands.js';

/** Runs `commands` on the node at 127.0.0.1:`port`; rejects when it does not answer within `timeoutMs`. */
export async function askNode(port: number, commands: readonly RedisCommand[], timeoutMs = 1000): Promise<RedisReply[]> {
  const connection = await NodeConnection.open({ host: '127.0.0.1', port, connectTimeoutMs: timeoutMs });
  try {
    return await connection.send(commands, timeoutMs);
  } finally {
    connection.close();
  }
}

/** A reply as text (bulk or simple string), undefined for anything else. */
export function replyText(reply: RedisReply | undefined): string | undefined {
  return Buffer.isBuffer(reply) ? reply.toString('utf8') : undefined;
}

/** The `field:value` lines of an INFO-like text. */
export function infoFields(text: string | undefined): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of (text ?? '').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

/** What one node says about itself. */
export interface NodeReport {
  readonly id: string;
  readonly role: 'master' | 'replica';
  /** Slots it serves (masters). */
  readonly slots: number;
  /** A replica's master port and link state. */
  readonly masterPort?: number;
  readonly link?: 'up' | 'down';
  /** Replicas online (masters). */
  readonly replicasOnline: number;
  readonly clusterOk: boolean;
  readonly slotsOk: number;
  readonly knownNodes: number;
  readonly memoryBytes: number;
  /** The node's `CLUSTER NODES` lines. */
  readonly nodes: readonly ClusterNodeLine[];
}

/** One line of `CLUSTER NODES`. */
export interface ClusterNodeLine {
  readonly id: string;
  readonly port: number;
  readonly flags: readonly string[];
  readonly slots: number;
}

/** Slot count of `CLUSTER NODES` slot fields (`a-b`, `a`; importing/migrating entries skipped). */
function slotCount(fields: readonly string[]): number {
  let count = 0;
  for (const f of fields) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(f);
    if (m === null) continue;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b >= a && b < 16384) count += b - a + 1;
  }
  return count;
}

/** Parses `CLUSTER NODES` text; malformed lines are skipped. */
export function parseClusterNodes(text: string | undefined): ClusterNodeLine[] {
  const lines: ClusterNodeLine[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.trim().split(' ');
    if (f.length < 8) continue;
    const port = Number(/:(\d+)(?:@|$)/.exec(f[1] ?? '')?.[1]);
    if (!Number.isInteger(port)) continue;
    lines.push({ id: f[0] ?? '', port, flags: (f[2] ?? '').split(','), slots: slotCount(f.slice(8)) });
  }
  return lines;
}

/** Asks the node at `port` everything the supervisor shows and checks. */
export async function reportOf(port: number): Promise<NodeReport> {
  const replies = await askNode(port, [['CLUSTER', 'MYID'], ['CLUSTER', 'INFO'], ['INFO', 'replication'], ['INFO', 'memory'], ['CLUSTER', 'NODES']]);
  if (replies.some((r) => r instanceof RedisErrorReply)) throw new Error(`node ${port} answered an error`);
  const id = replyText(replies[0]) ?? '';
  const cluster = infoFields(replyText(replies[1]));
  const replication = infoFields(replyText(replies[2]));
  const memory = infoFields(replyText(replies[3]));
  const nodes = parseClusterNodes(replyText(replies[4]));
  const role = replication.get('role') === 'slave' ? 'replica' : 'master';
  const masterPort = Number(replication.get('master_port'));
  const online = [...replication].filter(([k, v]) => /^slave\d+$/.test(k) && v.includes('state=online')).length;
  return {
    id,
    role,
    slots: nodes.find((n) => n.id === id)?.slots ?? 0,
    ...(role === 'replica' ? { masterPort: Number.isInteger(masterPort) ? masterPort : 0, link: replication.get('master_link_status') === 'up' ? ('up' as const) : ('down' as const) } : {}),
    replicasOnline: online,
    clusterOk: cluster.get('cluster_state') === 'ok',
    slotsOk: Number(cluster.get('cluster_slots_ok') ?? 0) || 0,
    knownNodes: Number(cluster.get('cluster_known_nodes') ?? 0) || 0,
    memoryBytes: Number(memory.get('used_memory') ?? 0) || 0,
    nodes,
  };
}
