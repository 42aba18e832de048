/**
 * The interface between the Redis Cluster client (`cluster-client.ts`) and the Redis store: what a
 * store needs of a Redis Cluster, and the RESP values it gets back.
 */

/** A RESP value as our client returns it (RESP2). Bulk strings come back as Buffers. */
export type RedisReply = null | number | Buffer | RedisReply[] | RedisErrorReply;

/** An error reply (`-ERR ...`), returned in place, not thrown, inside a pipeline's replies. */
export class RedisErrorReply {
  constructor(readonly message: string) {}
}

/** One command's words. */
export type RedisCommand = readonly (string | Buffer | number)[];

/** What a store needs of a Redis Cluster. */
export interface RedisClusterCommands {
  /**
   * Runs `commands`, which must all touch keys of the hash slot of `slotKey` (use hash tags), in
   * order on that slot's master, as part of that master's next pipeline (group commit: each master
   * has at most one pipeline in flight; the calls made meanwhile form the next one). `durable: true`:
   * the call resolves only after a WAIT on that master (one per pipeline, for all its durable calls)
   * confirmed the writes on the configured number of replicas.
   * Resolves with the replies in order (error replies in place); rejects on anything else
   * (connection lost, MOVED after retries, WAIT short of replicas, closed): "not acknowledged".
   */
  exec(slotKey: string, commands: readonly RedisCommand[], options?: { durable?: boolean }): Promise<RedisReply[]>;
  /** Runs one command on every master (e.g. SCAN-like reads); replies per master. */
  execOnMasters(command: RedisCommand): Promise<RedisReply[]>;
  close(): Promise<void>;
}
