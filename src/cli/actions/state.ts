/**
 * `ops state get|set|delete|vdel|watch`: the state store from the command line, with statestore-cli's
 * behaviour (exit 0 on success, 1 when the key is missing or the change did not apply).
 */
import { writeFile } from 'node:fs/promises';
import { readInputFile } from '../../config/input-file.js';
import { OpsError } from '../../shared/errors.js';
import type { CliContext } from '../context.js';
import { StateStoreClient, type InvokeResult, type ReceivedNotification } from '../lib/state-store/state-store-client.js';
import { jsonValue, printNotification, resolveEndpoint, writeBytes, type ConnectionInput } from '../lib/state-store/endpoint.js';
import type { Reply } from '../lib/state-store/resp3-client.js';

/** Inputs common to every `ops state` command. */
export interface StateInput extends ConnectionInput {
  readonly key: string;
  /** `json` prints JSON; human text when unset. */
  readonly output?: string;
}

/** Inputs of `ops state get`. */
export interface GetInput extends StateInput {
  /** Write the raw value here instead of stdout. */
  readonly valueFile?: string;
}

/** Inputs of `ops state set`. */
export interface SetInput extends StateInput {
  readonly value?: string;
  readonly valueFile?: string;
  readonly nx?: boolean;
  readonly nex?: boolean;
  readonly px?: number;
  /** Sends `aio-persistence: true` (ask for disk persistence of this key). */
  readonly persist?: boolean;
  readonly notify?: boolean;
}

/** Inputs of `ops state delete`. */
export interface DeleteInput extends StateInput {
  readonly notify?: boolean;
}

/** Connects, runs `work`, always disconnects. */
async function withClient<T>(input: ConnectionInput, ctx: CliContext, work: (client: StateStoreClient) => Promise<T>): Promise<T> {
  const client = await StateStoreClient.connect(await resolveEndpoint(input, ctx));
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

/** Throws the coded error of an `-ERR` or unreadable reply; returns the others. */
export function checkReply(reply: Reply, command: string, address: string): Exclude<Reply, { type: 'error' | 'malformed' }> {
  if (reply.type === 'error') throw new OpsError('SST_REQUEST_FAILED', { command, message: reply.message });
  if (reply.type === 'malformed') throw new OpsError('SST_BAD_REPLY', { address, reason: reply.reason });
  return reply;
}

function unexpected(reply: Reply, command: string, address: string): OpsError {
  return new OpsError('SST_BAD_REPLY', { address, reason: `unexpected ${reply.type} reply to ${command}` });
}

/** Registers KEYNOTIFY (when asked), runs the change, then waits for its notification if it applied. */
async function withNotify(
  client: StateStoreClient,
  key: Buffer,
  notify: boolean | undefined,
  change: () => Promise<{ applied: boolean; result: InvokeResult }>,
): Promise<{ applied: boolean; result: InvokeResult; notification?: ReceivedNotification }> {
  if (!notify) return change();
  const registered = checkReply((await client.keyNotify(key)).reply, 'KEYNOTIFY', client.address);
  if (registered.type !== 'ok') throw unexpected(registered, 'KEYNOTIFY', client.address);
  let timer: NodeJS.Timeout | undefined;
  const arrived = new Promise<ReceivedNotification>((resolve, reject) => {
    client.onNotification((n) => {
      if (n.key.equals(key)) resolve(n);
    });
    client.onLost(reject);
  });
  arrived.catch(() => undefined);
  const done = await change();
  if (!done.applied) return done;
  const notification = await Promise.race([
    arrived,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new OpsError('SST_TIMEOUT', { address: client.address, command: 'the key notification', ms: 10_000 })), 10_000);
    }),
  ]).finally(() => clearTimeout(timer));
  return { ...done, notification };
}

/** Runs `ops state get`; resolves with the exit code (1 = key missing). */
export async function runStateGet(input: GetInput, ctx: CliContext): Promise<number> {
  return withClient(input, ctx, async (client) => {
    const result = await client.invoke(['GET', input.key]);
    const reply = checkReply(result.reply, 'GET', client.address);
    if (reply.type === 'nil') return 1;
    if (reply.type !== 'bulk') throw unexpected(reply, 'GET', client.address);
    if (input.valueFile !== undefined) await writeFile(input.valueFile, reply.value);
    if (input.output === 'json') {
      ctx.stdout.write(`${JSON.stringify({ key: input.key, ...jsonValue(reply.value), ...(result.version ? { version: result.version } : {}) })}\n`);
    } else if (input.valueFile === undefined) writeBytes(ctx, Buffer.concat([reply.value, Buffer.from('\n')]));
    return 0;
  });
}

/** The bytes of `--value` (as UTF-8) or of the file (verbatim), for `ops state <command>`. */
async function valueOf(input: { readonly value?: string; readonly valueFile?: string }, command: string): Promise<Buffer> {
  if ((input.value === undefined) === (input.valueFile === undefined)) {
    throw new OpsError('CLI_USAGE', { message: `ops state ${command} needs exactly one of --value VALUE or -f/--valuefile FILE.` });
  }
  if (input.value !== undefined) return Buffer.from(input.value, 'utf8');
  return readInputFile(input.valueFile ?? '');
}

/** Runs `ops state set`; resolves with the exit code (1 = NX/NEX refused the change). */
export async function runStateSet(input: SetInput, ctx: CliContext): Promise<number> {
  if (input.nx && input.nex) throw new OpsError('CLI_USAGE', { message: '--nx and --nex cannot be used together.' });
  const value = await valueOf(input, 'set');
  const request: (string | Buffer)[] = ['SET', input.key, value];
  if (input.nx) request.push('NX');
  if (input.nex) request.push('NEX');
  if (input.px !== undefined) request.push('PX', String(input.px));
  const props = input.persist ? { 'aio-persistence': 'true' } : undefined;
  return withClient(input, ctx, async (client) => {
    const out = await withNotify(client, Buffer.from(input.key), input.notify, async () => {
      const result = await client.invoke(request, props);
      const reply = checkReply(result.reply, 'SET', client.address);
      if (reply.type === 'ok') return { applied: true, result };
      if (reply.type === 'integer' && reply.value === -1) return { applied: false, result };
      throw unexpected(reply, 'SET', client.address);
    });
    const version = out.result.version;
    if (input.output === 'json') {
      ctx.stdout.write(`${JSON.stringify({ key: input.key, applied: out.applied, ...(version ? { version } : {}) })}\n`);
    } else if (!out.applied) ctx.stderr.write(`Not set: key '${input.key}' ${input.nx ? 'exists (--nx)' : 'holds another value (--nex)'}.\n`);
    if (out.notification) printNotification(ctx, out.notification, input.output === 'json');
    return out.applied ? 0 : 1;
  });
}

/** Runs `ops state delete`; resolves with the exit code (1 = key missing). */
export async function runStateDelete(input: DeleteInput, ctx: CliContext): Promise<number> {
  return withClient(input, ctx, async (client) => {
    const out = await withNotify(client, Buffer.from(input.key), input.notify, async () => {
      const result = await client.invoke(['DEL', input.key]);
      const reply = checkReply(result.reply, 'DEL', client.address);
      if (reply.type !== 'integer' || reply.value < 0) throw unexpected(reply, 'DEL', client.address);
      return { applied: reply.value > 0, result };
    });
    if (input.output === 'json') ctx.stdout.write(`${JSON.stringify({ key: input.key, deleted: out.applied })}\n`);
    if (out.notification) printNotification(ctx, out.notification, input.output === 'json');
    return out.applied ? 0 : 1;
  });
}

/** Inputs of `ops state vdel`. */
export interface VdelInput extends StateInput {
  readonly value?: string;
  readonly valueFile?: string;
  readonly notify?: boolean;
}

/** Runs `ops state vdel`; resolves with the exit code (1 = key missing, or holding another value). */
export async function runStateVdel(input: VdelInput, ctx: CliContext): Promise<number> {
  const value = await valueOf(input, 'vdel');
  return withClient(input, ctx, async (client) => {
    let differs = false;
    const out = await withNotify(client, Buffer.from(input.key), input.notify, async () => {
      const result = await client.invoke(['VDEL', input.key, value]);
      const reply = checkReply(result.reply, 'VDEL', client.address);
      if (reply.type !== 'integer' || reply.value < -1 || reply.value > 1) throw unexpected(reply, 'VDEL', client.address);
      differs = reply.value === -1;
      return { applied: reply.value === 1, result };
    });
    if (input.output === 'json') ctx.stdout.write(`${JSON.stringify({ key: input.key, deleted: out.applied, ...(differs ? { valueDiffers: true } : {}) })}\n`);
    else if (differs) ctx.stderr.write(`Not deleted: key '${input.key}' holds another value.\n`);
    if (out.notification) printNotification(ctx, out.notification, input.output === 'json');
    return out.applied ? 0 : 1;
  });
}

/** Inputs of `ops state watch`. */
export interface WatchInput extends StateInput {
  /** Aborted on Ctrl-C / SIGTERM: the watch ends with exit 0. */
  readonly signal: AbortSignal;
}

/** Runs `ops state watch`: prints notifications as they arrive until the signal aborts. */
export async function runStateWatch(input: WatchInput, ctx: CliContext): Promise<number> {
  return withClient(input, ctx, async (client) => {
    const key = Buffer.from(input.key);
    const lost = new Promise<never>((_, reject) => client.onLost(reject));
    lost.catch(() => undefined);
    client.onNotification((n) => {
      if (n.key.equals(key)) printNotification(ctx, n, input.output === 'json');
    });
    const reply = checkReply((await client.keyNotify(key)).reply, 'KEYNOTIFY', client.address);
    if (reply.type !== 'ok') throw unexpected(reply, 'KEYNOTIFY', client.address);
    ctx.stderr.write(`watching '${input.key}' on ${client.address} (Ctrl-C stops)\n`);
    const stopped = new Promise<void>((resolve) => {
      if (input.signal.aborted) resolve();
      input.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await Promise.race([stopped, lost]);
    return 0;
  });
}
