/**
 * The subscription directory's Redis layout and codec (docs/cluster.md, "Key layout"). Every byte
 * read back is parsed defensively: a malformed field, value or change is reported as a reason
 * string (the caller logs and skips it), never thrown and never taken as data. Client ids and
 * filters only appear in hash fields and stream values, JSON-encoded (a lone surrogate survives);
 * key names hold frontend ids only, checked to be base64url first.
 */
import { isStreamId } from './stream-ids.js';
import type { StreamEntry } from './stream-tail.js';

/**
 * How a directory hides client ids and filters from Redis when the store is encrypted (the
 * `RedisBrokerStore` is one): hash fields become keyed hashes (deterministic, so a field can be
 * deleted by its client id and filter), hash values and change values are sealed (AES-256-GCM,
 * bound to their key). Without one, they are written as JSON (tests of the directory alone).
 */
export interface DirectorySealer {
  seal(key: string, plain: Buffer): Buffer;
  /** Throws when `sealed` is not authentic. */
  open(key: string, sealed: Buffer): Buffer;
  /** A keyed hash of `text` (its UTF-8 bytes when the store is not encrypted). */
  fieldId(text: string): Buffer;
}

/** The change stream every frontend tails: `{op, o, f, v, c}` entries (see {@link DirectoryChange}). */
export const CHANGE_STREAM_KEY = 'sc:{subs}';
/** The set of frontend ids that have a directory hash; same slot as the stream (one exec with XADD). */
export const FRONTEND_SET_KEY = 'sf:{subs}';

/** A frontend id: base64url, 1-64 characters (ours are 16: {@link newFrontendId}). */
const FRONTEND_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** The most bytes a hash field or value may have: two MQTT strings of 65,535 bytes, JSON-escaped. */
const MAX_ENCODED_BYTES = 1024 * 1024;

/** Whether `id` can be a frontend id (and so appear in a key name). */
export function isFrontendId(id: string): boolean {
  return FRONTEND_ID.test(id);
}

/** The hash of frontend `frontendId`'s entries (`sd:{f:<id>}`); throws RangeError for an id that is not base64url. */
export function directoryHashKey(frontendId: string): string {
  if (!isFrontendId(frontendId)) throw new RangeError('a frontend id is 1-64 base64url characters');
  return `sd:{f:${frontendId}}`;
}

/** A subscription's options as the directory keeps them. */
export interface DirectoryOptions {
  readonly qos: 0 | 1 | 2;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly subscriptionId?: number | undefined;
}

/** One change of the stream. */
export type DirectoryChange =
  | { readonly op: 'put'; readonly owner: string; readonly clientId: string; readonly filter: string; readonly options: DirectoryOptions }
  | { readonly op: 'del'; readonly owner: string; readonly clientId: string; readonly filter: string }
  | { readonly op: 'delc'; readonly owner: string; readonly clientId: string }
  | { readonly op: 'delf'; readonly owner: string }
  /** `owner` applied every change of the stream up to stream id `upTo` (see SubscriptionDirectory.visibleEverywhere). */
  | { readonly op: 'ack'; readonly owner: string; readonly upTo: string };

/** The hash field of (client id, filter): JSON `[clientId, filter]`. */
export function encodeField(clientId: string, filter: string): Buffer {
  return Buffer.from(JSON.stringify([clientId, filter]), 'utf8');
}

/** The hash value of the options: JSON `{q, nl, rap, sid?}`. */
export function encodeOptions(options: DirectoryOptions): Buffer {
  const record: Record<string, unknown> = { q: options.qos, nl: options.noLocal, rap: options.retainAsPublished };
  if (options.subscriptionId !== undefined) record['sid'] = options.subscriptionId;
  return Buffer.from(JSON.stringify(record), 'utf8');
}

/** The stream entry's fields of a change, as XADD arguments (`field value ...`); with `sealer`, the client id, filter and options sealed. */
export function encodeChange(change: DirectoryChange, sealer?: DirectorySealer): (string | Buffer)[] {
  const hide = (bytes: Buffer): Buffer => (sealer === undefined ? bytes : sealer.seal(CHANGE_STREAM_KEY, bytes));
  switch (change.op) {
    case 'put':
      return ['op', 'put', 'o', change.owner, 'f', hide(encodeField(change.clientId, change.filter)), 'v', hide(encodeOptions(change.options))];
    case 'del':
      return ['op', 'del', 'o', change.owner, 'f', hide(encodeField(change.clientId, change.filter))];
    case 'delc':
      return ['op', 'delc', 'o', change.owner, 'c', hide(Buffer.from(JSON.stringify(change.clientId), 'utf8'))];
    case 'delf':
      return ['op', 'delf', 'o', change.owner];
    case 'ack':
      return ['op', 'ack', 'o', change.owner, 'a', change.upTo];
  }
}

function parseJson(bytes: Buffer, what: string): unknown {
  if (bytes.length > MAX_ENCODED_BYTES) throw new Error(`${what} is longer than ${MAX_ENCODED_BYTES} bytes`);
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    throw new Error(`${what} is not JSON`);
  }
}

/** Reads a hash field; a reason string when malformed. */
export function decodeField(bytes: Buffer): { clientId: string; filter: string } | string {
  try {
    return fieldOf(parseJson(bytes, 'the field'));
  } catch (error) {
    return error instanceof Error ? error.message : 'malformed field';
  }
}

function fieldOf(value: unknown): { clientId: string; filter: string } | string {
  if (!Array.isArray(value) || value.length !== 2) return 'the field is not [clientId, filter]';
  const [clientId, filter] = value as unknown[];
  if (typeof clientId !== 'string' || typeof filter !== 'string') return 'the field is not [clientId, filter]';
  if (filter === '') return 'the filter is empty';
  return { clientId, filter };
}

/** Reads a hash value; a reason string when malformed. */
export function decodeOptions(bytes: Buffer): DirectoryOptions | string {
  let value: unknown;
  try {
    value = parseJson(bytes, 'the options value');
  } catch (error) {
    return error instanceof Error ? error.message : 'malformed options';
  }
  return optionsOf(value);
}

/** A sealed directory's hash value (before sealing): JSON `[[clientId, filter], {q, nl, rap, sid?}]`. */
export function encodeEntry(clientId: string, filter: string, options: DirectoryOptions): Buffer {
  return Buffer.from(`[${encodeField(clientId, filter).toString('utf8')},${encodeOptions(options).toString('utf8')}]`, 'utf8');
}

/** Reads a sealed directory's (opened) hash value; a reason string when malformed. */
export function decodeEntry(bytes: Buffer): { clientId: string; filter: string; options: DirectoryOptions } | string {
  let value: unknown;
  try {
    value = parseJson(bytes, 'the entry');
  } catch (error) {
    return error instanceof Error ? error.message : 'malformed entry';
  }
  if (!Array.isArray(value) || value.length !== 2) return 'the entry is not [field, options]';
  const [fieldValue, optionsValue] = value as unknown[];
  const field = fieldOf(fieldValue);
  if (typeof field === 'string') return field;
  const options = optionsOf(optionsValue);
  if (typeof options === 'string') return options;
  return { ...field, options };
}

function optionsOf(value: unknown): DirectoryOptions | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the options are not an object';
  const q: unknown = Reflect.get(value, 'q');
  const nl: unknown = Reflect.get(value, 'nl');
  const rap: unknown = Reflect.get(value, 'rap');
  const sid: unknown = Reflect.get(value, 'sid');
  if (q !== 0 && q !== 1 && q !== 2) return 'the QoS is not 0, 1 or 2';
  if (typeof nl !== 'boolean' || typeof rap !== 'boolean') return 'noLocal or retainAsPublished is not a boolean';
  if (sid !== undefined && !(typeof sid === 'number' && Number.isInteger(sid) && sid >= 1 && sid <= 268_435_455)) return 'the subscription id is out of range';
  return { qos: q, noLocal: nl, retainAsPublished: rap, subscriptionId: sid };
}

/** Reads a change from a stream entry (opening its values with `sealer`); a reason string when malformed or not authentic. */
export function decodeChange(entry: StreamEntry, sealer?: DirectorySealer): DirectoryChange | string {
  const op = entry.fields.get('op')?.toString('latin1');
  const owner = entry.fields.get('o')?.toString('latin1');
  if (owner === undefined || !isFrontendId(owner)) return 'no valid owner';
  if (sealer === undefined) return decodeOpenChange(op, owner, entry.fields);
  const opened = new Map<string, Buffer>();
  for (const name of ['f', 'v', 'c']) {
    const sealed = entry.fields.get(name);
    if (sealed === undefined) continue;
    try {
      opened.set(name, sealer.open(CHANGE_STREAM_KEY, sealed));
    } catch {
      return `the value of '${name}' is not authentic`;
    }
  }
  const upTo = entry.fields.get('a'); // an ack's stream id is not sealed (it says nothing of any client)
  if (upTo !== undefined) opened.set('a', upTo);
  return decodeOpenChange(op, owner, opened);
}

function decodeOpenChange(op: string | undefined, owner: string, fields: ReadonlyMap<string, Buffer>): DirectoryChange | string {
  const entry = { fields };
  switch (op) {
    case 'put':
    case 'del': {
      const fieldBytes = entry.fields.get('f');
      if (fieldBytes === undefined) return 'no field';
      const field = decodeField(fieldBytes);
      if (typeof field === 'string') return field;
      if (op === 'del') return { op, owner, ...field };
      const optionBytes = entry.fields.get('v');
      if (optionBytes === undefined) return 'no options';
      const options = decodeOptions(optionBytes);
      if (typeof options === 'string') return options;
      return { op, owner, ...field, options };
    }
    case 'delc': {
      const bytes = entry.fields.get('c');
      if (bytes === undefined) return 'no client id';
      try {
        const clientId = parseJson(bytes, 'the client id');
        return typeof clientId === 'string' ? { op, owner, clientId } : 'the client id is not a string';
      } catch (error) {
        return error instanceof Error ? error.message : 'malformed client id';
      }
    }
    case 'delf':
      return { op, owner };
    case 'ack': {
      const upTo = entry.fields.get('a')?.toString('latin1');
      return upTo !== undefined && isStreamId(upTo) ? { op, owner, upTo } : 'no valid stream id';
    }
    default:
      return 'unknown op';
  }
}
