/**
 * A cluster-wide leader lease (docs/cluster.md, "State store"): at most one frontend holds it. The
 * holder's id is in a key with a TTL (taken with a script when free), renewed every `renewMs` with a
 * compare-and-renew script; the others try to take it at the same pace. With each renewal the holder
 * also writes a high-water mark (e.g. its clock) to a second key of the same slot, which the next
 * holder reads as it takes the lease. A holder that has not renewed for the lease time minus a margin
 * steps down on its own, before the others can take the lease over (it does not depend on the
 * backend to learn it lost the lease).
 */
import { reasonOf } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { RedisClusterCommands, RedisReply } from '../storage/redis/cluster-commands.js';
import { bulkOrNull, checkReplies, notError, RedisReplyError } from '../storage/redis/redis-replies.js';

/** Takes KEYS[1] for ARGV[1] when free (or still its own: a holder that stepped down early). */
const TAKE_SCRIPT = `local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

/** Renews KEYS[1] when ARGV[1] holds it, and then writes the mark ARGV[3] (if any) to KEYS[2]. */
const RENEW_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  if ARGV[3] ~= '' then redis.call('SET', KEYS[2], ARGV[3]) end
  return 1
end
return 0`;

/** Deletes KEYS[1] when ARGV[1] holds it (a clean step-down), after writing the mark ARGV[2] (if any) to KEYS[2]. */
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2]) end
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`;

/** What a lease needs. */
export interface LeaderLeaseOptions {
  readonly redis: RedisClusterCommands;
  /** The lease key (with a hash tag). */
  readonly key: string;
  /** The high-water mark key, in the lease key's slot. */
  readonly markKey: string;
  /** This frontend's id (the lease's value). */
  readonly holderId: string;
  readonly logger: Logger;
  /** Lease time to live in ms; default 5000 (longer than a master failover). */
  readonly leaseMs?: number;
  /** Renewal / take-over attempt interval in ms; default 1000. */
  readonly renewMs?: number;
  /** The mark written with each renewal and at a clean step-down (ASCII); '' writes nothing. */
  readonly mark: () => string;
  /**
   * This frontend took the lease; `mark` is the last holder's high-water mark (null: none). The
   * lease is renewed meanwhile; when the promise rejects, the frontend steps down.
   */
  readonly onElected: (mark: Buffer | null) => Promise<void>;
  /** This frontend stopped holding the lease (lost, not renewed in time, or closed). Called once per election. */
  readonly onDeposed: () => Promise<void>;
}

/** See the file's comment. Start with {@link LeaderLease.start}. */
export class LeaderLease {
  readonly #o: LeaderLeaseOptions;
  readonly #leaseMs: number;
  readonly #renewMs: number;
  #timer: NodeJS.Timeout | undefined;
  /** The attempt or renewal under way (one at a time). */
  #running: Promise<void> | undefined;
  /** When the last successful renewal (or take-over) was sent (performance.now()): the lease lasts at least leaseMs from then. */
  #heldSince: number | undefined;
  /** Set while this frontend leads (from the election to the step-down). */
  #leading: Promise<boolean> | undefined;
  /** The step-down under way. */
  #stepping: Promise<void> | undefined;
  #closed = false;

  private constructor(options: LeaderLeaseOptions) {
    this.#o = options;
    this.#leaseMs = options.leaseMs ?? 5000;
    this.#renewMs = options.renewMs ?? 1000;
    if (!(this.#renewMs > 0 && this.#leaseMs >= 2 * this.#renewMs)) throw new RangeError('leaseMs must be at least twice renewMs');
  }

  /** Starts trying to take the lease (at once, then every renewMs). */
  static start(options: LeaderLeaseOptions): LeaderLease {
    const lease = new LeaderLease(options);
    lease.#tick();
    lease.#timer = setInterval(() => lease.#tick(), lease.#renewMs);
    lease.#timer.unref();
    return lease;
  }

  /** Whether this frontend holds the lease now (and leads). */
  get leading(): boolean {
    return this.#leading !== undefined && this.#heldSince !== undefined;
  }

  /** Stops renewing; when leading, steps down (onDeposed) and gives the lease up with a last mark. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#settled(this.#running); // a call the backend does not answer is not waited for beyond the lease
    if (this.#leading === undefined) return;
    await this.#stepDown('closed');
    const { redis, key, markKey, holderId } = this.#o;
    const release = redis.exec(key, [['EVAL', RELEASE_SCRIPT, 2, key, markKey, holderId, this.#o.mark()]], { durable: true }).then(
      () => undefined,
      (error: unknown) => this.#o.logger.warn({ err: reasonOf(error), key }, 'leader lease not given up; it expires on its own'),
    );
    await this.#settled(release);
  }

  /** Waits for `call`, at most the lease time. */
  async #settled(call: Promise<void> | undefined): Promise<void> {
    if (call === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([call, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#leaseMs)))]);
    clearTimeout(timer);
  }

  #tick(): void {
    if (this.#closed) return;
    // Not renewed for the lease time minus a renewal (even while a renewal hangs): step down before the others may take over.
    if (this.#heldSince !== undefined && performance.now() - this.#heldSince > this.#leaseMs - this.#renewMs) {
      this.#o.logger.warn({ key: this.#o.key }, 'leader lease not renewed in time: stepping down');
      void this.#stepDown('not renewed');
      return;
    }
    if (this.#running !== undefined) return;
    this.#running = (this.#heldSince === undefined ? this.#tryTake() : this.#renew())
      .catch((error: unknown) => this.#o.logger.warn({ err: reasonOf(error), key: this.#o.key }, 'leader lease: backend call failed; retrying'))
      .finally(() => (this.#running = undefined));
  }

  async #tryTake(): Promise<void> {
    if (this.#leading !== undefined) return; // still stepping down
    const { redis, key, markKey, holderId } = this.#o;
    const sent = performance.now();
    const replies = await redis.exec(key, [['EVAL', TAKE_SCRIPT, 1, key, holderId, String(this.#leaseMs)], ['GET', markKey]], { durable: true });
    checkReplies(replies, 2, 'leader lease');
    if (!isOne(replies[0], 'leader lease take')) return; // held by another frontend
    const mark = bulkOrNull(replies[1], 'leader lease mark');
    if (this.#closed) {
      await redis.exec(key, [['EVAL', RELEASE_SCRIPT, 2, key, markKey, holderId, '']], { durable: true });
      return;
    }
    this.#heldSince = sent;
    this.#o.logger.info({ key, holder: holderId }, 'leader lease taken');
    const leading = this.#o.onElected(mark).then(
      () => true,
      (error: unknown) => {
        this.#o.logger.error({ err: reasonOf(error), key }, 'leader could not start: stepping down');
        return false;
      },
    );
    this.#leading = leading;
    void leading.then(async (started) => {
      if (started) return;
      await this.#stepDown('start failed');
      await redis.exec(key, [['EVAL', RELEASE_SCRIPT, 2, key, markKey, holderId, '']], { durable: true }).catch(() => undefined);
    });
  }

  async #renew(): Promise<void> {
    const { redis, key, markKey, holderId } = this.#o;
    const sent = performance.now();
    const [reply] = await redis.exec(key, [['EVAL', RENEW_SCRIPT, 2, key, markKey, holderId, String(this.#leaseMs), this.#o.mark()]], { durable: true });
    if (isOne(reply, 'leader lease renewal')) {
      if (this.#heldSince !== undefined) this.#heldSince = sent;
      return;
    }
    this.#o.logger.warn({ key }, 'leader lease lost: stepping down');
    await this.#stepDown('lost');
  }

  /** Ends this election: onDeposed once (also after a failed start: it cleans up), after the start it follows. */
  #stepDown(why: string): Promise<void> {
    this.#heldSince = undefined;
    const leading = this.#leading;
    if (leading === undefined) return Promise.resolve();
    this.#stepping ??= (async () => {
      try {
        await leading;
        await this.#o.onDeposed();
      } catch (error) {
        this.#o.logger.error({ err: reasonOf(error), why }, 'leader step-down failed');
      } finally {
        this.#leading = undefined;
        this.#stepping = undefined;
      }
    })();
    return this.#stepping;
  }
}

/** Reads a script's reply: 1 done, 0 not (another holder); anything else is an error. */
function isOne(reply: RedisReply | undefined, what: string): boolean {
  const r = notError(reply, what);
  if (r === 1) return true;
  if (r === 0) return false;
  throw new RedisReplyError(`${what}: unexpected reply`);
}
