/**
 * Our thin Redis Cluster client (issue 15: ioredis and node-redis hung or stalled after a master
 * kill). One {@link NodeConnection} per master, the topology from `CLUSTER SLOTS`, no offline queue.
 * Group commit: the calls of one event-loop turn are grouped per master into one pipeline, with one
 * `WAIT` when any of them is durable; while a master's batch is in flight, its next calls gather into
 * the next batch (a `WAIT` blocks the connection until it returns, so batches piped behind it would
 * only queue up: with an absent replica each would add a whole WAIT timeout). Any failure is "not acknowledged": the calls reject at once; `MOVED`, `ASK`
 * and connection loss refresh the topology (from any reachable node), so later calls go to the new
 * master.
 */
import { OpsError, reasonOf } from '../../shared/errors.js';
import { RedisErrorReply, type RedisClusterCommands, type RedisCommand, type RedisReply } from './cluster-commands.js';
import { parseClusterSlots, parseEndpoint, type ClusterTopology } from './cluster-topology.js';
import { hashSlot, SLOT_COUNT } from './hash-slot.js';
import { backendUnavailable, NodeConnection, nodeAddress } from './node-connection.js';
import type { RespLimits } from './resp.js';
import { DegradedMasters, type DegradedMaster, type DegradedModeOptions, type ShortWait } from './degraded-masters.js';

export type { ShortWait } from './degraded-masters.js';

/** How to reach and use a Redis Cluster. */
export interface RedisClusterOptions {
  /** `host:port` of some nodes; the topology is read from the first that answers. */
  seeds: readonly string[];
  /** Replicas a durable write must reach (`WAIT numreplicas`); 0: durable calls send no WAIT. */
  replicas: number;
  /** WAIT's timeout in ms (> 0: WAIT 0 would block forever). Default 1000. */
  waitTimeoutMs?: number;
  /** A pipeline's replies must arrive within this many ms (plus the WAIT timeout); default 5000. */
  commandTimeoutMs?: number;
  /** Connecting to a node fails after this many ms; default 1000. */
  connectTimeoutMs?: number;
  /** A call is sent again after MOVED/ASK at most this many times; default 5. */
  maxRedirects?: number;
  /** While a master is unreachable, the topology is read again every this many ms; default 100. */
  refreshIntervalMs?: number;
  /**
   * A raw hook: called when a WAIT confirmed fewer replicas than wanted; true acknowledges the
   * durable calls anyway. Absent (and no `degradedMode`): they reject (STO_BACKEND_NOT_ACKNOWLEDGED).
   */
  acceptShortWait?: (wait: ShortWait) => boolean;
  /**
   * Degraded mode (degraded-masters.ts): a short WAIT flags its master and is accepted; the flagged
   * master's batches then wait only for its replicas in sync until they are all back. Takes
   * precedence over `acceptShortWait`.
   */
  degradedMode?: DegradedModeOptions;
  /** The RESP bounds of a reply. */
  limits?: RespLimits;
  /**
   * The most calls waiting for one master while its batch is in flight (a master slow to answer, a
   * WAIT blocking); a call beyond it is refused at once (STO_BACKEND_NOT_ACKNOWLEDGED: not
   * acknowledged). Default {@link DEFAULT_MAX_QUEUED_CALLS}.
   */
  maxQueuedCalls?: number;
  /**
   * The most bytes of command arguments waiting for one master (a call alone is never refused for
   * its size: the queue is then empty). Default {@link DEFAULT_MAX_QUEUED_BYTES}.
   */
  maxQueuedBytes?: number;
}

/**
 * Default {@link RedisClusterOptions.maxQueuedCalls}: about 6 s of a master's writes at the 10k
 * durable writes/s measured per master here, i.e. the longest wait of a batch in flight (the
 * command timeout plus the WAIT timeout) before it fails anyway.
 */
export const DEFAULT_MAX_QUEUED_CALLS = 65_536;
/** Default {@link RedisClusterOptions.maxQueuedBytes}: 128 MiB per master. */
export const DEFAULT_MAX_QUEUED_BYTES = 128 * 1024 * 1024;

interface Call {
  readonly slot: number;
  readonly commands: readonly RedisCommand[];
  /** Bytes of the commands' arguments (strings counted by length), for {@link RedisClusterOptions.maxQueuedBytes}. */
  readonly bytes: number;
  readonly durable: boolean;
  readonly resolve: (replies: RedisReply[]) => void;
  readonly reject: (error: OpsError) => void;
  /** Times sent again after MOVED/ASK. */
  redirects: number;
  /** Set after ASK: the node to send the call to once, each command preceded by ASKING. */
  askTarget?: string;
}

/** A redirection or cluster-state error reply, by kind. */
type ClusterError = { kind: 'moved' | 'ask'; slot: number; address: string } | { kind: 'state'; message: string };

/** Error replies about the cluster's state rather than the command: the call is not acknowledged. */
const STATE_ERRORS = /^(CLUSTERDOWN|TRYAGAIN|READONLY|MASTERDOWN|LOADING|NOREPLICAS)\b/;

/** STO_BACKEND_NOT_ACKNOWLEDGED on `node`. */
function notAcknowledged(node: string, reason: string): OpsError {
  return new OpsError('STO_BACKEND_NOT_ACKNOWLEDGED', { node, reason });
}

function asOpsError(error: unknown, node: string): OpsError {
  return error instanceof OpsError ? error : backendUnavailable(node, reasonOf(error), error);
}

/** A Redis Cluster client: see the file's comment. Open it with {@link RedisClusterClient.connect}. */
export class RedisClusterClient implements RedisClusterCommands {
  private topology: ClusterTopology | undefined;
  private readonly knownNodes = new Set<string>();
  private readonly connections = new Map<string, Promise<NodeConnection>>();
  private readonly queues = new Map<string, Call[]>();
  /** Bytes of the calls in {@link queues}, by master. */
  private readonly queuedBytes = new Map<string, number>();
  private refused = 0;
  private flushScheduled = false;
  /** Masters with a batch in flight: the next waits for it (a blocked WAIT would hold it anyway). */
  private readonly inFlight = new Set<string>();
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  private closed = false;
  private readonly waitTimeoutMs: number;
  private readonly commandTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly maxRedirects: number;
  private readonly refreshIntervalMs: number;
  private readonly maxQueuedCalls: number;
  private readonly maxQueuedBytes: number;
  private readonly degraded: DegradedMasters | undefined;

  private constructor(private readonly options: RedisClusterOptions) {
    this.waitTimeoutMs = options.waitTimeoutMs ?? 1000;
    this.commandTimeoutMs = options.commandTimeoutMs ?? 5000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 1000;
    this.maxRedirects = options.maxRedirects ?? 5;
    this.refreshIntervalMs = options.refreshIntervalMs ?? 100;
    this.maxQueuedCalls = options.maxQueuedCalls ?? DEFAULT_MAX_QUEUED_CALLS;
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    if (!(this.maxQueuedCalls >= 1) || !(this.maxQueuedBytes >= 1)) throw new RangeError('maxQueuedCalls and maxQueuedBytes must be >= 1');
    if (!(this.waitTimeoutMs > 0)) throw new RangeError('waitTimeoutMs must be > 0 (WAIT 0 blocks forever)');
    for (const seed of options.seeds) this.knownNodes.add(seed);
    if (options.degradedMode !== undefined && options.replicas > 0) {
      this.degraded = new DegradedMasters({
        ...options.degradedMode,
        wanted: options.replicas,
        masters: () => this.masters,
        connectTimeoutMs: this.connectTimeoutMs,
        commandTimeoutMs: this.commandTimeoutMs,
        limits: options.limits,
      });
    }
  }

  /** Calls refused because their master's queue was full (see {@link RedisClusterOptions.maxQueuedCalls}) since the client was opened. */
  get refusedCalls(): number {
    return this.refused;
  }

  /** The partitions in degraded mode now (empty without `degradedMode`). */
  degradedMasters(): DegradedMaster[] {
    return this.degraded?.list() ?? [];
  }

  /** Reads the topology from the seeds; rejects with STO_BACKEND_UNAVAILABLE when none answers. */
  static async connect(options: RedisClusterOptions): Promise<RedisClusterClient> {
    const client = new RedisClusterClient(options);
    const failure = await client.readTopology();
    if (failure !== undefined) {
      await client.close();
      throw backendUnavailable(options.seeds.join(','), failure);
    }
    return client;
  }

  /** The master serving `slot` now (for tests and stats), undefined when uncovered. */
  masterOf(slot: number): string | undefined {
    return this.topology?.slots[slot];
  }

  /**
   * Reads the topology again (as the client does on its own failures), for a caller that saw a
   * failure on a connection of its own (a dedicated blocking connection, `MOVED`). Resolves once the
   * topology was read and every master answered, or the client closed; it may take as long as a
   * failover, so a caller that must not wait races it with a timer.
   */
  async refreshTopology(): Promise<void> {
    this.requestRefresh();
    await this.refreshing;
  }

  /** The masters of the current topology. */
  get masters(): readonly string[] {
    return this.topology?.masters ?? [];
  }

  exec(slotKey: string, commands: readonly RedisCommand[], options?: { durable?: boolean }): Promise<RedisReply[]> {
    return new Promise((resolve, reject) => {
      this.enqueue({ slot: hashSlot(slotKey), commands, bytes: commandBytes(commands), durable: options?.durable === true, resolve, reject, redirects: 0 });
    });
  }

  async execOnMasters(command: RedisCommand): Promise<RedisReply[]> {
    if (this.closed) throw backendUnavailable('cluster', 'the client is closed');
    const masters = this.topology?.masters ?? [];
    return Promise.all(
      masters.map(async (address) => {
        try {
          const connection = await this.connection(address);
          const [reply] = await connection.send([command], this.commandTimeoutMs);
          return reply ?? null;
        } catch (error) {
          this.requestRefresh();
          throw asOpsError(error, address);
        }
      }),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    this.degraded?.close();
    for (const [address, calls] of this.queues) for (const call of calls) call.reject(backendUnavailable(address, 'the client is closed'));
    this.queues.clear();
    this.queuedBytes.clear();
    const connections = [...this.connections.values()];
    this.connections.clear();
    for (const opening of connections) {
      const connection = await opening.catch(() => undefined);
      connection?.close();
    }
    await this.refreshing;
  }

  private enqueue(call: Call): void {
    if (this.closed) {
      call.reject(backendUnavailable('cluster', 'the client is closed'));
      return;
    }
    const address = call.askTarget ?? this.topology?.slots[call.slot];
    if (address === undefined) {
      this.requestRefresh();
      call.reject(backendUnavailable('cluster', `no master serves hash slot ${call.slot}`));
      return;
    }
    const queue = this.queues.get(address);
    const bytes = this.queuedBytes.get(address) ?? 0;
    if (queue !== undefined && (queue.length >= this.maxQueuedCalls || bytes + call.bytes > this.maxQueuedBytes)) {
      // Bounded: a master slow to answer cannot make the calls waiting for it grow without end.
      this.refused++;
      call.reject(notAcknowledged(address, `${queue.length} calls (${bytes} bytes) already wait for this master (the limits: ${this.maxQueuedCalls} calls, ${this.maxQueuedBytes} bytes)`));
      return;
    }
    if (queue === undefined) this.queues.set(address, [call]);
    else queue.push(call);
    this.queuedBytes.set(address, bytes + call.bytes);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Sends each master's queued calls as one batch, unless a batch is in flight there (then they wait for it: group commit). */
  private flush(): void {
    this.flushScheduled = false;
    for (const [address, calls] of [...this.queues]) {
      if (this.inFlight.has(address)) continue;
      this.queues.delete(address);
      this.queuedBytes.delete(address);
      this.inFlight.add(address);
      void this.sendBatch(address, calls).finally(() => {
        this.inFlight.delete(address);
        if (this.queues.has(address)) this.scheduleFlush();
      });
    }
  }

  /** Sends the calls of one turn for one master as one pipeline (plus one WAIT), and settles them. */
  private async sendBatch(address: string, calls: readonly Call[]): Promise<void> {
    const commands: RedisCommand[] = [];
    for (const call of calls) {
      for (const command of call.commands) {
        if (call.askTarget !== undefined) commands.push(['ASKING']);
        commands.push(command);
      }
    }
    const replicas = this.degraded?.replicasFor(address) ?? this.options.replicas;
    const wait = replicas > 0 && calls.some((call) => call.durable);
    if (wait) commands.push(['WAIT', replicas, this.waitTimeoutMs]);
    let replies: RedisReply[];
    try {
      const connection = await this.connection(address);
      replies = await connection.send(commands, this.commandTimeoutMs + (wait ? this.waitTimeoutMs : 0));
    } catch (error) {
      this.requestRefresh();
      const failure = asOpsError(error, address);
      for (const call of calls) call.reject(failure);
      return;
    }
    const waitFailure = wait ? this.checkWait(address, replies[replies.length - 1] ?? null, replicas) : undefined;
    let at = 0;
    for (const call of calls) {
      const own: RedisReply[] = [];
      for (let i = 0; i < call.commands.length; i++) {
        if (call.askTarget !== undefined) at++; // ASKING's +OK
        own.push(replies[at++] ?? null);
      }
      this.settle(address, call, own, waitFailure);
    }
  }

  /**
   * Undefined when the WAIT reply confirms the `asked` replicas (fewer than configured only while
   * the master is degraded) or degraded mode / the hook accepts the shortfall, else why not.
   */
  private checkWait(address: string, reply: RedisReply, asked: number): string | undefined {
    if (typeof reply !== 'number') return `WAIT failed: ${reply instanceof RedisErrorReply ? reply.message : 'not an integer reply'}`;
    if (reply >= this.options.replicas || (reply >= asked && this.degraded !== undefined)) return undefined;
    const wait: ShortWait = { node: address, acknowledged: reply, wanted: this.options.replicas };
    if (this.degraded !== undefined ? this.degraded.acceptShortWait(wait) : this.options.acceptShortWait?.(wait) === true) return undefined;
    return `WAIT confirmed the writes on ${reply} of ${this.options.replicas} replicas within ${this.waitTimeoutMs} ms`;
  }

  /** Resolves `call` with its replies, sends it again after a redirection, or rejects it. */
  private settle(address: string, call: Call, replies: RedisReply[], waitFailure: string | undefined): void {
    const clusterErrors = replies.map((reply) => (reply instanceof RedisErrorReply ? clusterErrorOf(reply.message, address) : undefined));
    const first = clusterErrors[0];
    if (clusterErrors.some((error) => error !== undefined)) {
      const allRedirected = first !== undefined && first.kind !== 'state' && clusterErrors.every((error) => error?.kind === first.kind);
      if (first?.kind === 'moved' && this.topology !== undefined && allRedirected) this.learnMoved(first.slot, first.address);
      this.requestRefresh();
      if (allRedirected && call.redirects < this.maxRedirects) {
        call.redirects++;
        if (first.kind === 'ask') call.askTarget = first.address;
        else delete call.askTarget;
        this.enqueue(call);
        return;
      }
      const reason = clusterErrors.find((error) => error !== undefined);
      call.reject(notAcknowledged(address, reason === undefined ? 'redirected' : reason.kind === 'state' ? reason.message : `${reason.kind.toUpperCase()} to ${reason.address} after ${call.redirects} redirections`));
      return;
    }
    if (call.durable && waitFailure !== undefined) {
      call.reject(notAcknowledged(address, waitFailure));
      return;
    }
    call.resolve(replies);
  }

  /** Files `slot` under `address` at once (the full topology is read again in the background). */
  private learnMoved(slot: number, address: string): void {
    const topology = this.topology;
    if (topology === undefined) return;
    const slots = [...topology.slots];
    slots[slot] = address;
    const masters = topology.masters.includes(address) ? topology.masters : [...topology.masters, address];
    this.topology = { slots, masters, nodes: topology.nodes };
    this.knownNodes.add(address);
  }

  /** The open connection to `address`, opening it when there is none (a failed one is forgotten). */
  private connection(address: string): Promise<NodeConnection> {
    const existing = this.connections.get(address);
    if (existing !== undefined) return existing;
    if (this.closed) return Promise.reject(backendUnavailable(address, 'the client is closed'));
    const endpoint = parseEndpoint(address, '127.0.0.1');
    if (endpoint === undefined) return Promise.reject(backendUnavailable(address, 'not a host:port address'));
    const opening = NodeConnection.open({ ...endpoint, connectTimeoutMs: this.connectTimeoutMs, limits: this.options.limits });
    this.connections.set(address, opening);
    opening.then(
      (connection) => {
        if (this.closed) connection.close();
        connection.onClose(() => {
          if (this.connections.get(address) === opening) this.connections.delete(address);
          if (!this.closed) this.requestRefresh();
        });
      },
      () => {
        if (this.connections.get(address) === opening) this.connections.delete(address);
      },
    );
    return opening;
  }

  /** Starts reading the topology again (once at a time), until every master is reachable. */
  private requestRefresh(): void {
    if (this.closed) return;
    if (this.refreshing !== undefined) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = this.refreshUntilReachable().finally(() => {
      this.refreshing = undefined;
    });
  }

  private async refreshUntilReachable(): Promise<void> {
    for (;;) {
      this.refreshAgain = false;
      const failure = await this.readTopology();
      if (this.closed) return;
      if (failure === undefined && (await this.mastersReachable()) && !this.refreshAgain) return;
      if (this.closed) return;
      await new Promise((resolve) => setTimeout(resolve, this.refreshIntervalMs));
    }
  }

  private async mastersReachable(): Promise<boolean> {
    const masters = this.topology?.masters ?? [];
    const opened = await Promise.allSettled(masters.map((address) => this.connection(address)));
    return opened.every((result) => result.status === 'fulfilled');
  }

  /** Reads CLUSTER SLOTS from the first node that answers (masters first, then seeds, then others); why not when none did. */
  private async readTopology(): Promise<string | undefined> {
    const candidates = [...new Set([...(this.topology?.masters ?? []), ...this.options.seeds, ...this.knownNodes])];
    let failure = 'no node to ask';
    for (const address of candidates) {
      if (this.closed) return 'the client is closed';
      const endpoint = parseEndpoint(address, '127.0.0.1');
      if (endpoint === undefined) {
        failure = `${address} is not a host:port address`;
        continue;
      }
      let connection: NodeConnection | undefined;
      try {
        connection = await NodeConnection.open({ ...endpoint, connectTimeoutMs: this.connectTimeoutMs, limits: this.options.limits });
        const [reply] = await connection.send([['CLUSTER', 'SLOTS']], this.commandTimeoutMs);
        const topology = parseClusterSlots(reply ?? null, endpoint.host);
        if (typeof topology === 'string') {
          failure = `${address}: ${topology}`;
          continue;
        }
        if (topology.masters.length === 0) {
          failure = `${address}: no slot is served`;
          continue;
        }
        this.topology = topology;
        if (topology.replicaCounts !== undefined) this.degraded?.noteReplicaCounts(topology.replicaCounts);
        // The nodes of the latest topology and the seeds: addresses from old topologies and redirections go.
        this.knownNodes.clear();
        for (const node of [...this.options.seeds, ...topology.nodes]) this.knownNodes.add(node);
        return undefined;
      } catch (error) {
        failure = `${address}: ${reasonOf(error)}`;
      } finally {
        connection?.close();
      }
    }
    return failure;
  }
}

/** The redirection or cluster-state error in an error reply's message, undefined for a command's own error. */
function clusterErrorOf(message: string, from: string): ClusterError | undefined {
  const redirect = /^(MOVED|ASK) (\d+) (\S+)$/.exec(message);
  if (redirect !== null) {
    const fromHost = parseEndpoint(from, '127.0.0.1')?.host ?? '127.0.0.1';
    const endpoint = parseEndpoint(redirect[3] ?? '', fromHost);
    const slot = Number(redirect[2]);
    if (endpoint === undefined || !(slot >= 0 && slot < SLOT_COUNT)) return { kind: 'state', message: `malformed redirection: ${message}` };
    return { kind: redirect[1] === 'MOVED' ? 'moved' : 'ask', slot, address: nodeAddress(endpoint.host, endpoint.port) };
  }
  return STATE_ERRORS.test(message) ? { kind: 'state', message } : undefined;
}

/** Bytes of the arguments of `commands` (a string counted by its length, a number as 8). */
function commandBytes(commands: readonly RedisCommand[]): number {
  let bytes = 0;
  for (const command of commands) for (const word of command) bytes += typeof word === 'number' ? 8 : word.length;
  return bytes;
}
