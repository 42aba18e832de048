/**
 * Reads a JSON config file the way the AIO CLI does (UTF-8 with or without BOM; a top-level
 * `properties` wrapper is unwrapped) and reports broken JSON with line and column.
 */
import { OpsError, reasonOf } from '../shared/errors.js';
import { isRecord } from '../shared/plain-objects.js';
import { readInputFile } from './input-file.js';
import { findTooDeepText, MAX_CONFIG_DEPTH } from './json-depth.js';
import { findJsonSyntaxError, lineColumn } from './json-location.js';
import { assertValid, type ValidateOptions } from './validate.js';
import type { ResourceKind, ResourcePropertiesByKind } from './types.js';

/** A parsed config document. */
export interface ParsedConfig {
  /** The properties object (unwrapped when the file had a top-level `properties`). */
  readonly value: unknown;
  /** `properties` when the file wrapped its content, else empty: the JSON path prefix of `value`. */
  readonly pathPrefix: string;
}

/**
 * Parses JSON text; throws `CFG_PARSE_FAILED` with line and column, also for nesting deeper than
 * {@link MAX_CONFIG_DEPTH} levels (checked first, so nothing recursive ever sees such a text).
 */
export function parseConfigText(text: string, path: string): ParsedConfig {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const tooDeep = findTooDeepText(body);
  if (tooDeep !== undefined) {
    throw new OpsError('CFG_PARSE_FAILED', { path, reason: `objects and arrays nested deeper than ${MAX_CONFIG_DEPTH} levels`, ...lineColumn(body, tooDeep) });
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    const where = findJsonSyntaxError(body) ?? { reason: reasonOf(err), line: 1, column: 1 };
    throw new OpsError('CFG_PARSE_FAILED', { path, reason: where.reason, line: where.line, column: where.column });
  }
  if (isRecord(value) && Object.hasOwn(value, 'properties')) {
    return { value: value['properties'], pathPrefix: 'properties' };
  }
  return { value, pathPrefix: '' };
}

/** Reads and parses a config file; throws the AIO file errors as coded errors. */
export async function readConfigFile(path: string): Promise<ParsedConfig> {
  const bytes = await readInputFile(path);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new OpsError('CFG_DECODE_FAILED', { path });
  }
  return parseConfigText(text, path);
}

/** Reads, parses and validates a `kind` config file. */
export async function loadConfigFile<K extends ResourceKind>(
  kind: K,
  path: string,
  options: Omit<ValidateOptions, 'pathPrefix'> = {},
): Promise<ResourcePropertiesByKind[K]> {
  const parsed = await readConfigFile(path);
  return assertValid(kind, parsed.value, path, { ...options, pathPrefix: parsed.pathPrefix });
}
