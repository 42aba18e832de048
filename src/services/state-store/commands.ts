/**
 * The state store commands SET, GET, DEL, VDEL and KEYNOTIFY, validated in the order of
 * docs/reference/state-store-protocol.md §2.5, with the replies of §2.3 and the `__ts` of §3.4.
 */
import { notificationTopic } from '../../shared/state-store-wire.js';
import { ERR, type StateStoreErrorMessage } from './constants.js';
import { checkFencingToken, nextFencingToken } from './fencing.js';
import { parseHlc, type Hlc } from '../../shared/hlc-text.js';
import { isTooFarAhead, type HybridClock } from './server-clock.js';
import type { NotifyRegistry } from './notify-registry.js';
import { encodeBulk, encodeError, REPLY_NIL, REPLY_NOT_APPLIED, REPLY_OK, REPLY_ONE, REPLY_ZERO } from './resp3-server.js';
import { parseSetOptions } from './set-options.js';
import { keyIdOf, type ChangeEvent, type KeyStore } from './key-value-store.js';

/** The permission a request needs on its key (BrokerAuthorization `stateStoreResources` methods). */
export type StateStoreMethod = 'Read' | 'Write';

/** Decides whether `clientId` may use `key` with `method`. */
export type StateStoreAuthorizer = (clientId: string, key: Buffer, method: StateStoreMethod) => boolean;

/**
 * Decides whether `clientId` may receive notifications on `topic` (its §4.2 notification topic):
 * whether it may subscribe to that topic (KEYNOTIFY publishes there on its behalf).
 */
export type NotificationAuthorizer = (clientId: string, topic: string) => boolean;

/** What the commands work on. */
export interface CommandContext {
  readonly store: KeyStore;
  readonly clock: HybridClock;
  readonly notify: NotifyRegistry;
  readonly now: () => number;
  readonly authorize: StateStoreAuthorizer;
  /** Whether KEYNOTIFY may register (`-ERR not authorized` when not); default allow. */
  readonly authorizeNotifications?: NotificationAuthorizer;
  /** Key-count quota (`-ERR the quota has been exceeded` beyond it). */
  readonly maxKeys: number;
}

/** One parsed request. */
export interface CommandRequest {
  /** MQTT client id of the requester. */
  readonly clientId: string;
  /** The RESP array elements (verb first). */
  readonly elements: readonly Buffer[];
  /** The `__ts` user property, if present. */
  readonly timestamp: string | undefined;
  /** The `__ft` user property, if present. */
  readonly fencingToken: string | undefined;
  /**
   * Cluster mode: the decisions for a requester connected to another frontend (its port's rules
   * with its identity), used instead of the context's; absent for a requester connected here.
   */
  readonly remote?: RemoteRequester | undefined;
}

/** A requester connected to another frontend, decided with its own port's rules. */
export interface RemoteRequester {
  mayUseKey(key: Buffer, method: StateStoreMethod): boolean;
  maySubscribe(topic: string): boolean;
}

/** A reply, the `__ts` to send with it (if any), and the changes to notify. */
export interface CommandResult {
  readonly reply: Buffer;
  readonly version: Hlc | undefined;
  readonly events: readonly ChangeEvent[];
}

type Verb = 'SET' | 'GET' | 'DEL' | 'VDEL' | 'KEYNOTIFY';
const VERBS: ReadonlySet<string> = new Set<Verb>(['SET', 'GET', 'DEL', 'VDEL', 'KEYNOTIFY']);

function fail(message: StateStoreErrorMessage): CommandResult {
  return { reply: encodeError(message), version: undefined, events: [] };
}

function reply(buf: Buffer, version?: Hlc, events: readonly ChangeEvent[] = []): CommandResult {
  return { reply: buf, version, events };
}

function arityOk(verb: Verb, n: number): boolean {
  switch (verb) {
    case 'GET':
    case 'DEL':
      return n === 2;
    case 'VDEL':
      return n === 3;
    case 'KEYNOTIFY':
      return n === 2 || n === 3;
    case 'SET':
      return n >= 3;
  }
}

/** Executes one request; never throws for any input. */
export function executeCommand(ctx: CommandContext, req: CommandRequest): CommandResult {
  const { elements } = req;
  const verbText = (elements[0] as Buffer).toString('latin1');
  if (!VERBS.has(verbText)) return fail(ERR.unknownCommand);
  const verb = verbText as Verb;
  if (!arityOk(verb, elements.length)) return fail(ERR.wrongArgs);
  const key = elements[1] as Buffer;
  if (key.length === 0) return fail(ERR.keyLengthZero);
  const setOptions = verb === 'SET' ? parseSetOptions(elements, 3) : undefined;
  if (setOptions === 'syntax') return fail(ERR.syntax);
  if (verb === 'KEYNOTIFY' && elements.length === 3 && (elements[2] as Buffer).toString('latin1') !== 'STOP') return fail(ERR.syntax);

  const now = ctx.now();
  let ts: Hlc | undefined;
  if (req.timestamp === undefined) {
    if (verb === 'SET') return fail(ERR.missingTimestamp);
  } else {
    ts = parseHlc(req.timestamp);
    if (ts === undefined) return fail(ERR.malformedTimestamp);
    if (isTooFarAhead(ts, now)) return fail(ERR.timestampSkew);
  }
  const fenced = verb === 'SET' || verb === 'DEL' || verb === 'VDEL';
  let ft: Hlc | undefined;
  if (fenced && req.fencingToken !== undefined) {
    ft = parseHlc(req.fencingToken);
    if (ft === undefined) return fail(ERR.malformedTimestamp);
    if (isTooFarAhead(ft, now)) return fail(ERR.fencingTokenSkew);
  }
  if (!safeAuthorize(ctx, req, key, fenced ? 'Write' : 'Read')) return fail(ERR.notAuthorized);

  const keyId = keyIdOf(key);
  const events: ChangeEvent[] = [];
  switch (verb) {
    case 'GET': {
      const entry = ctx.store.get(keyId);
      return entry === undefined ? reply(REPLY_NIL) : reply(encodeBulk(entry.value), entry.version);
    }
    case 'KEYNOTIFY': {
      if (elements.length === 3) return reply(ctx.notify.remove(req.clientId, keyId) ? REPLY_OK : REPLY_ZERO);
      // Registering makes the store publish on the client's notification topic: only for a client that may subscribe there.
      if (!safeAuthorizeNotifications(ctx, req, key)) return fail(ERR.notAuthorized);
      ctx.notify.add(req.clientId, keyId);
      return reply(REPLY_OK);
    }
    case 'SET': {
      const options = setOptions === undefined ? { condition: undefined, px: undefined } : setOptions;
      const value = elements[2] as Buffer;
      const entry = ctx.store.get(keyId);
      if (entry === undefined && ctx.store.size >= ctx.maxKeys) return fail(ERR.quotaExceeded);
      const fencing = checkFencingToken(entry?.fencingToken, ft);
      if (fencing !== undefined) return fail(fencing);
      if (entry !== undefined && (options.condition === 'NX' || (options.condition === 'NEX' && !entry.value.equals(value)))) {
        return reply(REPLY_NOT_APPLIED, entry.version);
      }
      const version = ctx.clock.next(ts);
      const expiresAt = options.px === undefined ? undefined : ctx.now() + options.px;
      ctx.store.put(key, value, version, nextFencingToken(entry?.fencingToken, ft), expiresAt);
      events.push({ kind: 'set', keyId, key, value, version });
      return reply(REPLY_OK, version, events);
    }
    case 'DEL':
    case 'VDEL': {
      const entry = ctx.store.get(keyId);
      if (entry === undefined) return reply(REPLY_ZERO);
      const fencing = checkFencingToken(entry.fencingToken, ft);
      if (fencing !== undefined) return fail(fencing);
      if (verb === 'VDEL' && !entry.value.equals(elements[2] as Buffer)) return reply(REPLY_NOT_APPLIED, entry.version);
      ctx.store.delete(keyId);
      const version = ctx.clock.next(ts);
      events.push({ kind: 'delete', keyId, key: entry.key, version });
      return reply(REPLY_ONE, version, events);
    }
  }
}

function safeAuthorize(ctx: CommandContext, req: CommandRequest, key: Buffer, method: StateStoreMethod): boolean {
  try {
    return req.remote !== undefined ? req.remote.mayUseKey(key, method) : ctx.authorize(req.clientId, key, method);
  } catch {
    return false;
  }
}

function safeAuthorizeNotifications(ctx: CommandContext, req: CommandRequest, key: Buffer): boolean {
  const { clientId, remote } = req;
  const check = ctx.authorizeNotifications;
  if (remote === undefined && check === undefined) return true;
  try {
    const topic = notificationTopic(clientId, key);
    return remote !== undefined ? remote.maySubscribe(topic) : check === undefined || check(clientId, topic);
  } catch {
    return false;
  }
}
