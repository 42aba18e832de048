/**
 * Degraded mode of the backend (issue 15; docs/cluster.md "Degraded mode, and what can be lost").
 * A partition (a Redis master) whose `WAIT` confirmed fewer replicas than wanted is degraded: its
 * durable writes are acknowledged anyway (AIO keeps serving with one backend member), after the
 * bounded `WAIT` timeout the first time. While it is degraded, its batches `WAIT` only for the
 * replicas last seen in sync (none: no `WAIT`, so each batch does not pay the timeout), and its
 * replication is probed (`INFO replication`) every `probeIntervalMs`: once the wanted replicas are
 * online again the flag clears and `WAIT` asks for all of them again. Flagging logs a warning
 * naming the node, clearing an info line.
 */
import { reasonOf } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import type { RedisReply } from './cluster-commands.js';
import { parseEndpoint } from './cluster-topology.js';
import { NodeConnection } from './node-connection.js';
import type { RespLimits } from './resp.js';

/** What a WAIT short of the wanted replicas reported. */
export interface ShortWait {
  /** The master's address. */
  node: string;
  /** Replicas that confirmed the writes. */
  acknowledged: number;
  /** Replicas asked for. */
  wanted: number;
}

/** One degraded partition, for stats and metrics. */
export interface DegradedMaster {
  /** The master's `host:port`. */
  readonly node: string;
  /** When it was flagged (ms since the epoch). */
  readonly since: number;
  /** Replicas in sync at the last WAIT or probe (durable writes wait for these only). */
  readonly replicasInSync: number;
  /** Replicas wanted (`redundancyFactor - 1`). */
  readonly wanted: number;
}

/** How degraded mode runs. */
export interface DegradedModeOptions {
  readonly logger: Logger;
  /** A degraded master's replication is read this often; default 500 ms. */
  readonly probeIntervalMs?: number;
}

/** What the tracker needs from its client. */
export interface DegradedMastersDeps extends DegradedModeOptions {
  /** Replicas a durable write must reach. */
  readonly wanted: number;
  /** The masters of the client's current topology (a flagged node no longer among them is forgotten). */
  readonly masters: () => readonly string[];
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly limits?: RespLimits | undefined;
}

interface Entry {
  readonly since: number;
  inSync: number;
}

/** Replicas of a master in sync (`slaveN:...state=online`), from `INFO replication`; undefined when not a master's reply. */
export function replicasInSync(info: RedisReply): number | undefined {
  const text = Buffer.isBuffer(info) ? info.toString('utf8') : typeof info === 'string' ? info : undefined;
  if (text === undefined) return undefined;
  const lines = text.split(/\r?\n/);
  if (!lines.includes('role:master')) return undefined;
  return lines.filter((line) => /^slave\d+:/.test(line) && /(^|,)state=online(,|$)/.test(line.slice(line.indexOf(':') + 1))).length;
}

/** The degraded partitions of one client: see the file's comment. */
export class DegradedMasters {
  readonly #entries = new Map<string, Entry>();
  readonly #deps: DegradedMastersDeps;
  readonly #probeIntervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #probing = false;
  #closed = false;

  constructor(deps: DegradedMastersDeps) {
    this.#deps = deps;
    this.#probeIntervalMs = deps.probeIntervalMs ?? 500;
  }

  /** Replicas a durable batch on `node` waits for: all wanted, or while degraded those last seen in sync. */
  replicasFor(node: string): number {
    return this.#entries.get(node)?.inSync ?? this.#deps.wanted;
  }

  /** A WAIT on `node` came back short: flags it (once, logged) and acknowledges the writes. */
  acceptShortWait(wait: ShortWait): boolean {
    if (this.#closed) return false;
    this.#flag(wait.node, wait.acknowledged, 'WAIT');
    return true;
  }

  /**
   * A topology was read: a master listed with fewer replicas than wanted (a promoted replica whose
   * old master is down, a replica marked failed) is flagged before its next batch, which then does
   * not pay a `WAIT` timeout first; the probe clears it if its replicas are in sync after all.
   */
  noteReplicaCounts(counts: ReadonlyMap<string, number>): void {
    if (this.#closed) return;
    for (const [node, count] of counts) if (count < this.#deps.wanted) this.#flag(node, count, 'CLUSTER SLOTS');
  }

  #flag(node: string, inSync: number, seenBy: string): void {
    const entry = this.#entries.get(node);
    if (entry !== undefined) {
      entry.inSync = Math.min(entry.inSync, inSync);
      return;
    }
    this.#entries.set(node, { since: Date.now(), inSync });
    this.#deps.logger.warn(
      { node, replicasInSync: inSync, wanted: this.#deps.wanted, seenBy },
      'backend partition degraded: its writes are acknowledged with fewer replicas than wanted (a failure of this node can now lose them)',
    );
    this.#schedule();
  }

  /** The degraded partitions now. */
  list(): DegradedMaster[] {
    return [...this.#entries].map(([node, entry]) => ({ node, since: entry.since, replicasInSync: entry.inSync, wanted: this.#deps.wanted }));
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#closed || this.#timer !== undefined || this.#entries.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#probeAll().finally(() => this.#schedule());
    }, this.#probeIntervalMs);
    this.#timer.unref();
  }

  async #probeAll(): Promise<void> {
    if (this.#probing) return;
    this.#probing = true;
    try {
      const masters = new Set(this.#deps.masters());
      await Promise.all(
        [...this.#entries.keys()].map(async (node) => {
          if (!masters.has(node)) {
            this.#entries.delete(node);
            this.#deps.logger.info({ node }, 'backend partition no longer degraded on this node: it is no longer a master (its slots moved)');
            return;
          }
          const inSync = await this.#probe(node);
          const entry = this.#entries.get(node);
          if (inSync === undefined || entry === undefined || this.#closed) return;
          if (inSync >= this.#deps.wanted) {
            this.#entries.delete(node);
            this.#deps.logger.info({ node, replicasInSync: inSync, wanted: this.#deps.wanted }, 'backend partition recovered: its replicas are in sync again');
          } else entry.inSync = inSync;
        }),
      );
    } finally {
      this.#probing = false;
    }
  }

  /** Replicas in sync on `node`, undefined when it cannot be read now. */
  async #probe(node: string): Promise<number | undefined> {
    const endpoint = parseEndpoint(node, '127.0.0.1');
    if (endpoint === undefined) return undefined;
    let connection: NodeConnection | undefined;
    try {
      connection = await NodeConnection.open({ ...endpoint, connectTimeoutMs: this.#deps.connectTimeoutMs, limits: this.#deps.limits });
      const [reply] = await connection.send([['INFO', 'replication']], this.#deps.commandTimeoutMs);
      return replicasInSync(reply ?? null);
    } catch (error) {
      this.#deps.logger.debug({ node, err: reasonOf(error) }, 'degraded partition not probed');
      return undefined;
    } finally {
      connection?.close();
    }
  }
}
