/**
 * Every frontend's figures, for `ops broker stats` on any of them: each frontend writes its own to
 * the hash `fst:{frontends}` (field = frontend id, value = JSON) every {@link PUBLISH_MS}; a reader
 * gets them all, with cluster totals. Values from the backend are parsed defensively: a malformed
 * entry is skipped.
 */
import type { ClusterMemberStats, ClusterMemberTotals } from '../admin/wire.js';
import type { BrokerStats } from '../broker/stats.js';
import { isRecord } from '../shared/plain-objects.js';
import type { RedisClusterCommands } from '../storage/redis/cluster-commands.js';

/** The figures hash (in the `{frontends}` slot, beside the frontend list). */
export const MEMBER_STATS_KEY = 'fst:{frontends}';
/** How often a frontend writes its figures. */
export const PUBLISH_MS = 2000;

/** One frontend's figures (as `stats` reports them). */
export type MemberStats = ClusterMemberStats;

/** Sums of the live frontends' figures. */
export type ClusterTotals = ClusterMemberTotals;

const NUMBERS = ['at', 'connected', 'sessions', 'subscriptions', 'messagesReceived', 'messagesSent', 'messagesDropped', 'queued'] as const;

/** The figures a frontend writes. */
export function memberFigures(stats: BrokerStats, now: number): Omit<MemberStats, 'frontendId' | 'live'> {
  return {
    at: now,
    connected: stats.clients.connected,
    sessions: stats.clients.sessions,
    subscriptions: stats.subscriptions - stats.system.subscriptions,
    messagesReceived: stats.messages.received,
    messagesSent: stats.messages.sent,
    messagesDropped: stats.messages.dropped,
    queued: stats.messages.queued,
  };
}

/** Writes this frontend's figures. */
export async function publishMemberStats(redis: RedisClusterCommands, frontendId: string, figures: Omit<MemberStats, 'frontendId' | 'live'>): Promise<void> {
  await redis.exec(MEMBER_STATS_KEY, [['HSET', MEMBER_STATS_KEY, frontendId, JSON.stringify(figures)]]);
}

/** Reads every frontend's figures; `live` says which hold their lease. */
export async function readMemberStats(redis: RedisClusterCommands, live: ReadonlySet<string>): Promise<{ members: MemberStats[]; totals: ClusterTotals }> {
  const [reply] = await redis.exec(MEMBER_STATS_KEY, [['HGETALL', MEMBER_STATS_KEY]]);
  const members: MemberStats[] = [];
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const id = reply[i];
      const value = reply[i + 1];
      if (!Buffer.isBuffer(id) || !Buffer.isBuffer(value) || value.length > 4096) continue;
      const member = parseMember(id.toString('latin1'), value.toString('utf8'), live);
      if (member !== undefined) members.push(member);
    }
  }
  members.sort((a, b) => a.frontendId.localeCompare(b.frontendId));
  const totals: { -readonly [K in keyof ClusterTotals]: number } = { frontends: 0, connected: 0, sessions: 0, subscriptions: 0, messagesReceived: 0, messagesSent: 0, messagesDropped: 0, queued: 0 };
  for (const m of members) {
    if (!m.live) continue;
    totals.frontends++;
    for (const key of NUMBERS) if (key !== 'at') totals[key] += m[key];
  }
  return { members, totals };
}

function parseMember(frontendId: string, text: string, live: ReadonlySet<string>): MemberStats | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  const out: { -readonly [K in (typeof NUMBERS)[number]]: number } = { at: 0, connected: 0, sessions: 0, subscriptions: 0, messagesReceived: 0, messagesSent: 0, messagesDropped: 0, queued: 0 };
  for (const key of NUMBERS) {
    const n = value[key];
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return undefined;
    out[key] = n;
  }
  return { frontendId, live: live.has(frontendId), ...out };
}
