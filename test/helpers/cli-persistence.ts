/**
 * e2e helpers for persistence: `ops` with extra environment, MQTT clients that record every
 * message from the first packet (queued messages arrive right after CONNACK), the broker pid,
 * SIGKILL, and a recursive byte search of an instance's files.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { readStatusFile } from '../../src/instance/status-file.js';
import { alive, eventually, OPS_BIN, type OpsRun } from './cli-ops.js';

/** Runs `ops ARGS` in `home` with `env` added (never rejects). */
export async function opsWithEnv(home: string, env: Record<string, string>, ...args: string[]): Promise<OpsRun> {
  const r = await execa(process.execPath, [OPS_BIN, ...args], {
    env: { OPS_HOME: home, NO_COLOR: '1', OPS_START_TIMEOUT_MS: '15000', ...env },
    reject: false,
    stdin: 'ignore',
    timeout: 30_000,
  });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** One received message. */
export interface Received {
  readonly topic: string;
  readonly payload: string;
  readonly retain: boolean;
}

/** A connected client that records what it receives. */
export interface Recorder {
  readonly client: MqttClient;
  readonly sessionPresent: boolean;
  readonly received: Received[];
  /** Resolves once `check(received)` holds; rejects after `timeoutMs`. */
  until(check: (received: readonly Received[]) => boolean, timeoutMs?: number): Promise<void>;
  end(): Promise<void>;
}

/** Connects (v5 unless `options.protocolVersion` says otherwise) and records messages from the start. */
export function record(port: number, clientId: string, options: IClientOptions = {}): Promise<Recorder> {
  return new Promise((resolve, reject) => {
    const received: Received[] = [];
    const client = connect({ host: '127.0.0.1', port, clientId, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...options });
    client.on('message', (topic, payload, packet) => received.push({ topic, payload: payload.toString(), retain: packet.retain }));
    client.once('connect', (connack) => {
      resolve({
        client,
        sessionPresent: connack.sessionPresent,
        received,
        until: async (check, timeoutMs = 10_000) => {
          if (!(await eventually(() => check(received), timeoutMs))) {
            throw new Error(`${clientId}: condition not met within ${timeoutMs} ms; received ${JSON.stringify(received.map((r) => r.payload))}`);
          }
        },
        end: () => client.endAsync(),
      });
    });
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
    client.once('close', () => reject(new Error(`${clientId}: connection closed before CONNACK`)));
  });
}

/** A persistent v5 session (session expiry 1 h, clean start false). */
export function persistent(port: number, clientId: string, options: IClientOptions = {}): Promise<Recorder> {
  return record(port, clientId, { clean: false, ...options, properties: { sessionExpiryInterval: 3600, ...options.properties } });
}

/** The broker pid from status.json. */
export async function brokerPid(home: string, instance: string): Promise<number> {
  const status = await readStatusFile(join(home, instance, 'status.json'));
  if (!status) throw new Error(`no status.json for ${instance}`);
  return status.pid;
}

/** SIGKILLs `pid` and waits until it is gone. */
export async function kill9(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  if (!(await eventually(() => !alive(pid), 10_000))) throw new Error(`pid ${pid} still alive after SIGKILL`);
}

/** Files under `dir` (recursively) whose bytes contain `needle`. */
export async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  const bytes = Buffer.from(needle);
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if ((await readFile(path)).includes(bytes)) hits.push(path);
  }
  return hits;
}
