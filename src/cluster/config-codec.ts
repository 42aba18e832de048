/**
 * One revision of the cluster's shared runtime settings, as the config channel stores it (sealed by
 * the store's cipher) in `cfg:{config}` and in the change stream `cfgc:{config}`: a versioned JSON
 * document `{ v, rev, origin, shared }`. The revision is inside the sealed bytes, so a frontend
 * trusts no revision number Redis holds beside them. Decoding is defensive: the bytes come from the
 * backend.
 */
import { findTooDeepText } from '../config/json-depth.js';
import { parseSharedRuntime, type SharedRuntime } from '../config/shared-runtime.js';
import { reasonOf } from '../shared/errors.js';
import { isRecord } from '../shared/plain-objects.js';

/** Version of the encoded revision. */
export const CONFIG_REVISION_VERSION = 1;

/** The most bytes of one encoded revision (a decoded one larger than this is refused). */
export const MAX_CONFIG_REVISION_BYTES = 4 * 1024 * 1024;

/** One revision of the shared runtime settings. */
export interface ConfigRevision {
  /** 1, 2, 3, ...: each publication takes the next one. */
  readonly rev: number;
  /** The frontend that published it. */
  readonly origin: string;
  readonly shared: SharedRuntime;
}

/** The bytes of `revision`. */
export function encodeConfigRevision(revision: ConfigRevision): Buffer {
  return Buffer.from(JSON.stringify({ v: CONFIG_REVISION_VERSION, rev: revision.rev, origin: revision.origin, shared: revision.shared }), 'utf8');
}

/** Why bytes are not a revision. */
export class BadConfigRevision extends Error {}

/** Reads the bytes of a revision; throws {@link BadConfigRevision} saying what is wrong. */
export function decodeConfigRevision(bytes: Buffer): ConfigRevision {
  if (bytes.length > MAX_CONFIG_REVISION_BYTES) throw new BadConfigRevision(`${bytes.length} bytes (at most ${MAX_CONFIG_REVISION_BYTES})`);
  const text = bytes.toString('utf8');
  if (findTooDeepText(text) !== undefined) throw new BadConfigRevision('nested too deeply');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new BadConfigRevision('not JSON');
  }
  if (!isRecord(raw)) throw new BadConfigRevision('not an object');
  const { v, rev, origin, shared } = raw;
  if (v !== CONFIG_REVISION_VERSION) throw new BadConfigRevision(`version ${String(v)} (this build reads ${CONFIG_REVISION_VERSION})`);
  if (typeof rev !== 'number' || !Number.isSafeInteger(rev) || rev < 1) throw new BadConfigRevision('no revision number');
  if (typeof origin !== 'string' || origin === '' || origin.length > 256) throw new BadConfigRevision('no origin');
  try {
    return { rev, origin, shared: parseSharedRuntime(shared, `cluster config revision ${rev}`) };
  } catch (error) {
    throw new BadConfigRevision(`settings refused: ${reasonOf(error)}`);
  }
}
