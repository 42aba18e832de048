/**
 * Which frontends are alive. Each frontend holds a lease, `fl:{frontends}:<id>` with a TTL, renewed
 * every second, and is listed in the hash `f:{frontends}` (id -> when it joined); both keys are in the
 * one `{frontends}` slot, so the whole view is read in one pipeline. A frontend whose lease is gone
 * (it died, stopped, or was cut off from the backend longer than the TTL) is not alive: the first
 * live frontend to see it claims its duties (`fd:{frontends}:<id>`, `SET NX` with a TTL, so a claimer
 * that dies too is replaced) and hands it to `onGone` (takeover.ts); the frontend is forgotten from the
 * list only once that resolves.
 */
import { reasonOf } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { RedisClusterCommands } from '../storage/redis/cluster-commands.js';
import { checkReplies } from '../storage/redis/redis-replies.js';
import { MEMBER_STATS_KEY } from './member-stats.js';

/** The frontend list. */
export const FRONTENDS_KEY = 'f:{frontends}';
/** A frontend's lease key (frontend ids are base64url: no brace). */
export function leaseKey(frontendId: string): string {
  return `fl:{frontends}:${frontendId}`;
}

/** Lease time to live: longer than a master failover (about 2-3 s), so a failover alone ends no lease. */
export const LEASE_MS = 6000;
/** How long a claim on a gone frontend's duties lasts: its takeover must finish within it, or another frontend takes it up. */
export const DUTY_CLAIM_MS = 120_000;

/** A gone frontend's duty claim key. */
export function dutyKey(frontendId: string): string {
  return `fd:{frontends}:${frontendId}`;
}
/** How often the lease is renewed and the view of the others read again. */
export const RENEW_MS = 1000;

/** This frontend's membership: its lease, and its view of the live frontends. */
export class Membership {
  readonly id: string;
  readonly #redis: RedisClusterCommands;
  readonly #logger: Logger;
  #live: ReadonlySet<string> = new Set();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #renewing: Promise<void> | undefined;
  /** Takes over a gone frontend's duties (set before the first renewal that may find one). */
  onGone: ((frontendId: string) => Promise<void>) | undefined;
  readonly #takingOver = new Set<string>();

  private constructor(redis: RedisClusterCommands, id: string, logger: Logger) {
    this.#redis = redis;
    this.id = id;
    this.#logger = logger;
  }

  /** Takes the lease and reads the view; rejects when the backend does not acknowledge the lease. */
  static async join(redis: RedisClusterCommands, id: string, logger: Logger): Promise<Membership> {
    const membership = new Membership(redis, id, logger);
    await membership.#renew();
    membership.#timer = setInterval(() => {
      membership.#renewing ??= membership
        .#renew()
        .catch((error: unknown) => logger.warn({ err: reasonOf(error) }, 'cluster lease not renewed (backend unreachable?); retrying'))
        .finally(() => (membership.#renewing = undefined));
    }, RENEW_MS);
    membership.#timer.unref();
    return membership;
  }

  /** The frontends alive at the last renewal, this one included. */
  get live(): ReadonlySet<string> {
    return this.#live;
  }

  /** Whether `frontendId` holds its lease now (asks the backend). */
  async isAlive(frontendId: string): Promise<boolean> {
    if (frontendId === this.id) return !this.#closed;
    const [reply] = await this.#redis.exec(FRONTENDS_KEY, [['EXISTS', leaseKey(frontendId)]]);
    return reply === 1;
  }

  async #renew(): Promise<void> {
    if (this.#closed) return;
    const replies = await this.#redis.exec(
      FRONTENDS_KEY,
      [
        ['SET', leaseKey(this.id), String(Date.now()), 'PX', LEASE_MS],
        ['HSET', FRONTENDS_KEY, this.id, String(Date.now())],
        ['HKEYS', FRONTENDS_KEY],
      ],
      { durable: true },
    );
    checkReplies(replies, 3, 'lease');
    const ids = Array.isArray(replies[2]) ? replies[2].filter((r): r is Buffer => Buffer.isBuffer(r)).map((b) => b.toString('latin1')) : [];
    if (ids.length === 0) return;
    const leases = await this.#redis.exec(FRONTENDS_KEY, ids.map((other) => ['EXISTS', leaseKey(other)] as const));
    const live = new Set<string>();
    ids.forEach((other, i) => {
      if (leases[i] === 1) live.add(other);
    });
    this.#live = live;
    for (const other of ids) if (!live.has(other)) this.#claimDuties(other);
  }

  /** Claims a gone frontend's duties; the winner takes them over, then forgets the frontend. */
  #claimDuties(gone: string): void {
    const onGone = this.onGone;
    if (onGone === undefined || this.#takingOver.has(gone) || this.#closed) return;
    this.#takingOver.add(gone);
    void (async () => {
      const [claimed] = await this.#redis.exec(FRONTENDS_KEY, [['SET', dutyKey(gone), this.id, 'NX', 'PX', DUTY_CLAIM_MS]], { durable: true });
      if (claimed === null) return; // another frontend is on it
      this.#logger.warn({ frontend: gone }, 'a cluster frontend is gone (its lease expired): taking over its sessions, wills and inbox');
      await onGone(gone);
      await this.#redis.exec(FRONTENDS_KEY, [['HDEL', FRONTENDS_KEY, gone], ['HDEL', MEMBER_STATS_KEY, gone], ['DEL', dutyKey(gone)]], { durable: true });
      this.#logger.info({ frontend: gone }, 'took over a gone frontend');
    })()
      .catch((error: unknown) => this.#logger.error({ frontend: gone, err: reasonOf(error) }, 'taking over a gone frontend failed; another try after its claim expires'))
      .finally(() => this.#takingOver.delete(gone));
  }

  /**
   * Gives the lease up (a clean stop): the others see this frontend gone at their next renewal and
   * take its offline sessions over (it stays listed until then).
   */
  async leave(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#renewing;
    await this.#redis.exec(FRONTENDS_KEY, [['DEL', leaseKey(this.id)]], { durable: true }).catch((error: unknown) => {
      this.#logger.warn({ err: reasonOf(error) }, 'cluster lease not given up; it expires on its own');
    });
  }
}
