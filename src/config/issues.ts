/**
 * Validation problems: one per offending JSON path, with what was expected. Turns ajv's errors into
 * these and renders a list for a report.
 */
import type { ErrorObject } from 'ajv';

/** One problem found in a config document. */
export interface ConfigIssue {
  /** JSON path like `persistence.maxSize` or `ports[0].port`; `$` for the document itself. */
  readonly path: string;
  /** What is wrong and what was expected. */
  readonly message: string;
}

/** Converts an ajv instancePath (`/ports/0/port`) to `ports[0].port`, with an optional prefix. */
export function toJsonPath(pointer: string, prefix = ''): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let out = prefix;
  for (const part of parts) {
    if (/^[0-9]+$/.test(part)) out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out === '' ? '$' : out;
}

/** Joins a path and a child key. */
export function childPath(path: string, key: string): string {
  return path === '$' || path === '' ? key : `${path}.${key}`;
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function titleOf(error: ErrorObject): string | undefined {
  const schema: unknown = error.parentSchema;
  if (typeof schema === 'object' && schema !== null && 'title' in schema) {
    const title = (schema as { title?: unknown }).title;
    return typeof title === 'string' ? title : undefined;
  }
  return undefined;
}

/** Turns one ajv error into a {@link ConfigIssue}; undefined for errors that only wrap others (`if`). */
export function issueFromAjv(error: ErrorObject, prefix = ''): ConfigIssue | undefined {
  const path = toJsonPath(error.instancePath, prefix);
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'if':
      return undefined;
    case 'required':
      return { path: childPath(path, String(p['missingProperty'])), message: 'is required but missing' };
    case 'additionalProperties':
      return { path: childPath(path, String(p['additionalProperty'])), message: 'is not a known property here (check the spelling and nesting)' };
    case 'enum': {
      const allowed = (p['allowedValues'] as unknown[]).map((v) => show(v)).join(', ');
      return { path, message: `must be one of ${allowed} (got ${show(error.data)})` };
    }
    case 'type':
      return { path, message: `must be ${String(p['type'])} (got ${show(error.data)})` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { path, message: `must be ${String(p['comparison'])} ${String(p['limit'])} (got ${show(error.data)})` };
    case 'pattern':
      return { path, message: `must be ${titleOf(error) ?? `a string matching ${String(p['pattern'])}`} (got ${show(error.data)})` };
    case 'minItems':
      return { path, message: `must have at least ${String(p['limit'])} item(s)` };
    case 'maxItems':
      return { path, message: `must have at most ${String(p['limit'])} item(s)` };
    case 'maxProperties':
      return { path, message: `must have at most ${String(p['limit'])} entries` };
    case 'minLength':
      return { path, message: p['limit'] === 1 ? 'must not be empty' : `must be ${titleOf(error) ?? `at least ${String(p['limit'])} characters long`} (got ${show(error.data)})` };
    case 'maxLength':
      return { path, message: `must be at most ${String(p['limit'])} characters long` };
    default:
      return { path, message: error.message ?? `fails ${error.keyword}` };
  }
}

/** Renders issues one per line, each as `  - path: message`. */
export function renderIssues(issues: readonly ConfigIssue[]): string {
  return issues.map((i) => `  - ${i.path === '' ? '(top level)' : i.path}: ${i.message}`).join('\n');
}
