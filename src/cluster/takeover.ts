/**
 * Taking over a gone frontend's duties (it died, or stopped): its sessions, its clients' wills, its
 * inbox. Run by the one live frontend that claimed them (membership.ts). In order:
 * 1. every session it owned (`fo:{f:<gone>}`) that is still its own becomes this frontend's (one
 *    script per session, so a client reconnecting elsewhere meanwhile keeps its new owner): a client
 *    that was connected gets its will published [MQTT-3.1.2-8] (a delayed one is scheduled with the
 *    session, counted from now), a persistent session is loaded here with its queue and keeps
 *    receiving messages (its subscriptions enter the directory under this frontend), and its
 *    shared-group deliveries not yet acknowledged go to other members of their groups [MQTT-4.8.2-6];
 * 2. the gone frontend's directory entries are removed (publishers stop sending to it), once each
 *    of its clients whose session lives on (here, or claimed by another frontend meanwhile) is
 *    routed to its new owner in the directory (bounded): a publisher never has no route to it;
 * 3. its inbox is drained into the sessions now here (messages publishers had forwarded to it and
 *    acknowledged), twice: once at once, once after every live frontend applied the removal
 *    (bounded); then deleted, with its owned set.
 * A message forwarded both to the gone frontend's inbox and here around step 2 is delivered twice
 * (at least once, never lost).
 */
import type { ClusterEngine } from '../broker/cluster-engine.js';
import type { ForwardTarget } from '../broker/cluster-link.js';
import { Message } from '../broker/message.js';
import { reasonOf } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { RedisClusterCommands, RedisReply } from '../storage/redis/cluster-commands.js';
import type { RedisBrokerStore } from '../storage/redis/redis-broker-store.js';
import { decodeFrame, messageOf } from './inbox-frame.js';
import { parseStreamEntry } from './stream-tail.js';
import { compareStreamIds } from './stream-ids.js';

/** Sessions taken over at once. */
const CONCURRENCY = 32;
/** Inbox entries read per page while draining. */
const DRAIN_PAGE = 256;
/** Longest wait, after removing the gone frontend's directory entries, for every live frontend to apply it before the inbox is drained a second time. */
export const SETTLE_MS = 2000;
/** Longest wait for the gone frontend's clients to be in the directory under their new owners. */
const REHOME_MS = 5000;

/** What a takeover did (logged). */
export interface TakeoverReport {
  readonly sessions: number;
  readonly wills: number;
  readonly inboxMessages: number;
}

/** What a takeover needs. */
export interface TakeoverContext {
  readonly self: string;
  readonly store: RedisBrokerStore;
  readonly redis: RedisClusterCommands;
  readonly engine: ClusterEngine;
  /**
   * Resolves once every client the gone frontend held directory entries of, whose session has
   * another owner now, is in the directory under that owner (or after `timeoutMs`).
   */
  readonly rehomed: (frontendId: string, timeoutMs: number) => Promise<void>;
  /** Removes the gone frontend's subscriptions from the directory; resolves once every live frontend applied it (or after `timeoutMs`). */
  readonly removeFromDirectory: (frontendId: string, timeoutMs: number) => Promise<void>;
  /** Delivers a message forwarded to the gone frontend (as if it had come to this frontend's inbox). */
  readonly deliver: (message: Message, targets: readonly ForwardTarget[]) => Promise<void>;
  /** Moves an adopted session's shared-group deliveries to other members of their groups. */
  readonly moveShared: (clientId: string) => Promise<void>;
  /** The inbox key of a frontend. */
  readonly inboxKey: (frontendId: string) => string;
  readonly logger: Logger;
}

/** Takes over the duties of `gone` (see the file's comment). */
export async function takeOver(ctx: TakeoverContext, gone: string): Promise<TakeoverReport> {
  let sessions = 0;
  let wills = 0;
  const tags = await ctx.store.ownedSessions(gone);
  for (let i = 0; i < tags.length; i += CONCURRENCY) {
    await Promise.all(
      tags.slice(i, i + CONCURRENCY).map(async (tag) => {
        const taken = await ctx.store.takeOverSession(tag, gone, ctx.self);
        if (taken === undefined) return;
        const { record, will } = taken;
        let adoptWill = false;
        if (will !== undefined) {
          wills++;
          // A delayed will of a persistent session waits with it; any other is published now [MQTT-3.1.3-9].
          if (record !== undefined && will.will.delaySeconds > 0 && record.expiryIntervalSeconds > 0) adoptWill = true;
          else ctx.engine.publishWill(new Message(will.will.message));
        }
        if (record !== undefined) {
          sessions++;
          const [queue, incomingQos2] = await Promise.all([ctx.store.loadQueue(record.clientId), ctx.store.loadIncomingQos2(record.clientId)]);
          if (ctx.engine.adopt(adoptWill && will !== undefined ? { ...record, will: will.will } : record, queue, incomingQos2)) await ctx.moveShared(record.clientId);
        } else if (will !== undefined) {
          await ctx.store.disownSession(will.clientId, ctx.self); // a clean session: nothing left of it
        }
      }),
    );
  }
  await ctx.rehomed(gone, REHOME_MS);
  const removed = ctx.removeFromDirectory(gone, SETTLE_MS);
  let inboxMessages = await drain(ctx, gone);
  await removed;
  inboxMessages += await drain(ctx, gone);
  const inbox = ctx.inboxKey(gone);
  await ctx.redis.exec(inbox, [['DEL', inbox]], { durable: true });
  await ctx.store.forgetOwner(gone);
  const report = { sessions, wills, inboxMessages };
  ctx.logger.info({ frontend: gone, ...report }, 'sessions, wills and inbox of a gone frontend taken over');
  return report;
}

/** Delivers and deletes every message frame in the gone frontend's inbox; returns how many. */
async function drain(ctx: TakeoverContext, gone: string): Promise<number> {
  const key = ctx.inboxKey(gone);
  let delivered = 0;
  let from = '-';
  for (;;) {
    const [reply] = await ctx.redis.exec(key, [['XRANGE', key, from, '+', 'COUNT', DRAIN_PAGE]]);
    const { ids, frames } = drainPage(ctx, reply);
    if (ids.length === 0) return delivered;
    // The page's deliveries are started in order and awaited together (one round trip per page, not
    // per message: an entry carries up to 64 messages); a failed one is logged and skipped, as before.
    const deliveries: { id: string; done: Promise<void> }[] = [];
    for (const [id, sealed] of frames) {
      try {
        const frame = decodeFrame(ctx.store.open(key, sealed));
        if (frame.kind === 'message') deliveries.push({ id, done: ctx.deliver(messageOf(frame), frame.targets) });
        else if (frame.kind === 'messages') for (const item of frame.items) deliveries.push({ id, done: ctx.deliver(new Message(item.message), item.targets) });
      } catch (error) {
        ctx.logger.warn({ id, err: reasonOf(error) }, 'an entry of a gone frontend\'s inbox was skipped');
      }
    }
    const settled = await Promise.allSettled(deliveries.map((d) => d.done));
    settled.forEach((result, i) => {
      if (result.status === 'rejected') ctx.logger.warn({ id: deliveries[i]?.id, err: reasonOf(result.reason) }, 'an entry of a gone frontend\'s inbox was skipped');
      else delivered++;
    });
    await ctx.redis.exec(key, [['XDEL', key, ...ids]], { durable: true });
    const last = ids[ids.length - 1] as string;
    if (from !== '-' && compareStreamIds(last, from.slice(1)) <= 0) return delivered; // a reply not beyond the page before: no progress to make
    from = `(${last}`;
  }
}

/**
 * One XRANGE page of an inbox (parsed with the stream tail's parser, as every hostile reply): the ids
 * of its entries (to delete and to page on) and `[id, sealed frame]` of those with a frame field `m`;
 * an entry without one, or malformed, is logged and skipped. A reply that is not a list is an empty page.
 */
function drainPage(ctx: TakeoverContext, reply: RedisReply | undefined): { ids: string[]; frames: [string, Buffer][] } {
  const ids: string[] = [];
  const frames: [string, Buffer][] = [];
  if (!Array.isArray(reply)) return { ids, frames };
  for (const item of reply) {
    const entry = parseStreamEntry(item);
    if (typeof entry === 'string') {
      ctx.logger.warn({ reason: entry }, 'a malformed entry of a gone frontend\'s inbox was skipped');
      continue;
    }
    ids.push(entry.id);
    const frame = entry.fields?.get('m');
    if (frame === undefined) ctx.logger.warn({ id: entry.id }, 'an entry of a gone frontend\'s inbox without a frame was skipped');
    else frames.push([entry.id, frame]);
  }
  return { ids, frames };
}
