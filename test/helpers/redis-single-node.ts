/**
 * A stand-in for the Redis Cluster test helper and client (test/helpers/redis-cluster.ts and the
 * real cluster client, written in parallel): ONE plain `redis-server` (not cluster mode) in a temp
 * dir on a port below 32768, and a minimal {@link RedisClusterCommands} over one `node:net` socket
 * (RESP2). `durable` appends `WAIT 0 0` (no replicas here). It checks what a cluster would refuse:
 * every key of a call must hash to the slot of its `slotKey` (CRC16, hash tags), so a store that
 * passes here keeps to one slot per call. To be replaced by the real client and cluster at merge.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisErrorReply, type RedisClusterCommands, type RedisCommand, type RedisReply } from '../../src/storage/redis/cluster-commands.js';

/** A running single redis-server. */
export interface RedisSingleNode {
  readonly port: number;
  readonly pid: number;
  /** A new connection as {@link RedisClusterCommands}. */
  connect(): Promise<SingleNodeCommands>;
  /** Stops the server (SIGKILL if it does not exit) and removes its dir. */
  stop(): Promise<void>;
}

/** Starts `redis-server` on a free port in 3000–9999 (the cluster helper uses 10000–31999 with its bus ports); resolves once it accepts connections. */
export async function startRedisSingleNode(): Promise<RedisSingleNode> {
  const dir = await mkdtemp(join(tmpdir(), 'ops-redis-single-'));
  for (let attempt = 0; ; attempt++) {
    const port = 3_000 + Math.floor(Math.random() * 7_000);
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const ready = await readyOrExit(child);
    if (ready) {
      const pid = child.pid ?? -1;
      return {
        port,
        pid,
        connect: () => SingleNodeCommands.connect(port),
        stop: async () => {
          await stopChild(child);
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
    if (attempt >= 5) {
      await rm(dir, { recursive: true, force: true });
      throw new Error('redis-server did not start (5 ports tried)');
    }
  }
}

/** Resolves true once the server logs that it is ready, false when it exits first (port in use). */
function readyOrExit(child: ChildProcess): Promise<boolean> {
  return new Promise((resolve) => {
    let log = '';
    const onData = (chunk: Buffer): void => {
      log += chunk.toString('utf8');
      if (log.includes('Ready to accept connections')) {
        child.stdout?.off('data', onData);
        resolve(true);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', () => resolve(false));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

// RESP2

function encode(commands: readonly RedisCommand[]): Buffer {
  const parts: Buffer[] = [];
  for (const command of commands) {
    parts.push(Buffer.from(`*${command.length}\r\n`));
    for (const word of command) {
      const bytes = Buffer.isBuffer(word) ? word : Buffer.from(String(word), 'utf8');
      parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
    }
  }
  return Buffer.concat(parts);
}

/** Parses one reply at `at`; undefined when more bytes are needed. Throws on malformed input. */
function parse(buf: Buffer, at: number): { reply: RedisReply; end: number } | undefined {
  if (at >= buf.length) return undefined;
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[at] ?? 0);
  const line = buf.toString('utf8', at + 1, eol);
  switch (type) {
    case '+':
      return { reply: Buffer.from(line, 'utf8'), end: eol + 2 };
    case '-':
      return { reply: new RedisErrorReply(line), end: eol + 2 };
    case ':':
      return { reply: Number(line), end: eol + 2 };
    case '$': {
      const n = Number(line);
      if (n === -1) return { reply: null, end: eol + 2 };
      if (!Number.isSafeInteger(n) || n < 0 || n > 512 * 1024 * 1024) throw new Error(`bad bulk length ${line}`);
      if (buf.length < eol + 2 + n + 2) return undefined;
      return { reply: Buffer.from(buf.subarray(eol + 2, eol + 2 + n)), end: eol + 2 + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n === -1) return { reply: null, end: eol + 2 };
      if (!Number.isSafeInteger(n) || n < 0 || n > 1_000_000) throw new Error(`bad array length ${line}`);
      const items: RedisReply[] = [];
      let end = eol + 2;
      for (let i = 0; i < n; i++) {
        const item = parse(buf, end);
        if (item === undefined) return undefined;
        items.push(item.reply);
        end = item.end;
      }
      return { reply: items, end };
    }
    default:
      throw new Error(`bad reply type byte ${buf[at]}`);
  }
}

// Hash slots (what a cluster would check)

function crc16(bytes: Buffer): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The cluster hash slot of a key (hash tag rules of the Redis Cluster spec). */
export function keySlot(key: string | Buffer): number {
  const bytes = Buffer.isBuffer(key) ? key : Buffer.from(key, 'utf8');
  const open = bytes.indexOf('{');
  if (open >= 0) {
    const close = bytes.indexOf('}', open + 1);
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) % 16384;
  }
  return crc16(bytes) % 16384;
}

/** Positions of key arguments: `all` = every argument after the name. */
const KEY_POSITIONS: Record<string, number[] | 'all'> = {
  GET: [1], SET: [1], SADD: [1], SREM: [1], SSCAN: [1], HSET: [1], HSETNX: [1], HGET: [1], HMGET: [1], HDEL: [1], HSCAN: [1], HGETALL: [1], DEL: 'all',
};

function keysOf(command: RedisCommand): (string | Buffer)[] {
  const name = String(command[0]).toUpperCase();
  const positions = KEY_POSITIONS[name];
  if (positions === undefined) throw new Error(`the single-node adapter does not know the key positions of ${name}`);
  const indexes = positions === 'all' ? command.map((_, i) => i).slice(1) : positions;
  return indexes.map((i) => {
    const word = command[i];
    if (word === undefined) throw new Error(`${name}: missing key argument ${i}`);
    return typeof word === 'number' ? String(word) : word;
  });
}

/** {@link RedisClusterCommands} over one socket to one plain redis-server. */
export class SingleNodeCommands implements RedisClusterCommands {
  readonly #socket: Socket;
  readonly #waiting: { count: number; replies: RedisReply[]; resolve: (r: RedisReply[]) => void; reject: (e: Error) => void }[] = [];
  #buffer: Buffer = Buffer.alloc(0);
  #failure: Error | undefined;
  /** Every slot key used, for tests. */
  readonly slotKeys: string[] = [];

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk) => this.#onData(chunk));
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => this.#fail(new Error('connection closed')));
  }

  static connect(port: number): Promise<SingleNodeCommands> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new SingleNodeCommands(socket));
      });
      socket.once('error', reject);
    });
  }

  exec(slotKey: string, commands: readonly RedisCommand[], options?: { durable?: boolean }): Promise<RedisReply[]> {
    const slot = keySlot(slotKey);
    for (const command of commands) {
      for (const key of keysOf(command)) {
        if (keySlot(key) !== slot) return Promise.reject(new Error(`CROSSSLOT: ${String(command[0])} key in slot ${keySlot(key)}, slot key ${slotKey} in ${slot}`));
      }
    }
    this.slotKeys.push(slotKey);
    const durable = options?.durable === true;
    return this.#send(durable ? [...commands, ['WAIT', 0, 0]] : commands).then((replies) => (durable ? replies.slice(0, -1) : replies));
  }

  async execOnMasters(command: RedisCommand): Promise<RedisReply[]> {
    return this.#send([command]);
  }

  /** Any command, unchecked (test setup: FLUSHALL, KEYS, corrupting values). */
  raw(commands: readonly RedisCommand[]): Promise<RedisReply[]> {
    return this.#send(commands);
  }

  async close(): Promise<void> {
    if (this.#socket.destroyed) return;
    const closed = new Promise<void>((resolve) => this.#socket.once('close', () => resolve()));
    this.#socket.end();
    await closed;
  }

  #send(commands: readonly RedisCommand[]): Promise<RedisReply[]> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ count: commands.length, replies: [], resolve, reject });
      this.#socket.write(encode(commands));
    });
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    let at = 0;
    try {
      for (;;) {
        const parsed = parse(this.#buffer, at);
        if (parsed === undefined) break;
        at = parsed.end;
        const head = this.#waiting[0];
        if (head === undefined) throw new Error('a reply nobody asked for');
        head.replies.push(parsed.reply);
        if (head.replies.length === head.count) {
          this.#waiting.shift();
          head.resolve(head.replies);
        }
      }
    } catch (error) {
      this.#fail(error instanceof Error ? error : new Error(String(error)));
      this.#socket.destroy();
      return;
    }
    this.#buffer = this.#buffer.subarray(at);
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const w of this.#waiting.splice(0)) w.reject(error);
  }
}
