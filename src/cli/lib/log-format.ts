/**
 * One line of broker.log made readable, pino-pretty style: `HH:MM:SS.mmm LEVEL msg key=value ...`.
 * The log holds pino JSON records and, from the broker process's stderr, plain lines
 * (`ops-broker: CODE: message`), which are printed as they are. Text from clients (client ids,
 * reason strings) reaches the log, so control characters are escaped: a line cannot move the
 * cursor or recolour a terminal.
 */
import type { ChalkInstance } from 'chalk';
import { isRecord } from '../../shared/plain-objects.js';

/** Level names by pino's numbers. */
export const LOG_LEVEL_NUMBERS: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** A parsed line: a pino record, or a plain (non-JSON) line. */
export type LogLine =
  | { readonly kind: 'record'; readonly level: number; readonly time: number | undefined; readonly record: Readonly<Record<string, unknown>> }
  | { readonly kind: 'plain'; readonly text: string };

/** Fields every record has, not shown as key=value (`instance` and `pid` are the same on every line of one log). */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'instance', 'v']);

/** Parses one line of broker.log (without its newline). */
export function parseLogLine(line: string): LogLine {
  if (line.startsWith('{')) {
    try {
      const value: unknown = JSON.parse(line);
      if (isRecord(value)) {
        const record = value;
        const level = record['level'];
        if (typeof level === 'number') {
          const time = record['time'];
          return { kind: 'record', level, time: typeof time === 'number' ? time : undefined, record };
        }
      }
    } catch {
      // not JSON: a plain line
    }
  }
  return { kind: 'plain', text: line };
}

/** The level name of a pino level number (`LEVEL50` style for unknown ones). */
export function levelName(level: number): string {
  for (const [name, value] of Object.entries(LOG_LEVEL_NUMBERS)) if (value === level) return name;
  return `level${level}`;
}

/** `HH:MM:SS.mmm` of `time` (ms since the epoch), local time. */
export function clockTime(time: number): string {
  const d = new Date(time);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** Escapes C0/C1 control characters (tab kept) and DEL as `\xNN`/`\uNNNN`. */
export function escapeControls(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** A field value: plain when it is a simple word, JSON (quoted, escaped) otherwise. */
function fieldValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=\\]+$/.test(value) ? escapeControls(value) : escapeControls(JSON.stringify(value));
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return escapeControls(JSON.stringify(value) ?? String(value));
}

const COLOURS: Readonly<Record<string, (chalk: ChalkInstance, text: string) => string>> = {
  trace: (c, t) => c.gray(t),
  debug: (c, t) => c.blue(t),
  info: (c, t) => c.green(t),
  warn: (c, t) => c.yellow(t),
  error: (c, t) => c.red(t),
  fatal: (c, t) => c.bgRed.white(t),
};

/** The readable line of a parsed line (no newline); the level is coloured by `chalk` (level 0: no colour). */
export function formatLogLine(line: LogLine, chalk: ChalkInstance): string {
  if (line.kind === 'plain') return escapeControls(line.text);
  const { record } = line;
  const name = levelName(line.level);
  const label = (COLOURS[name] ?? ((_c: ChalkInstance, t: string) => t))(chalk, name.toUpperCase().padEnd(5));
  const msg = record['msg'];
  const parts = [line.time === undefined ? '--:--:--.---' : clockTime(line.time), label];
  if (msg !== undefined) parts.push(escapeControls(typeof msg === 'string' ? msg : JSON.stringify(msg)));
  for (const [key, value] of Object.entries(record)) {
    if (HIDDEN.has(key) || value === undefined) continue;
    parts.push(`${escapeControls(key)}=${fieldValue(value)}`);
  }
  return parts.join(' ');
}

/** What a line must satisfy to be shown: `--level` (plain lines always pass) and `--since`. */
export interface LogFilter {
  /** Lowest pino level number shown. */
  readonly minLevel: number;
  /** Earliest record time shown (ms since the epoch). */
  readonly since?: number;
}

/** Whether a parsed line passes the filter; a plain line passes the level filter, and the time filter when it has no time to judge. */
export function passes(line: LogLine, filter: LogFilter): boolean {
  if (line.kind === 'plain') return true;
  if (line.level < filter.minLevel) return false;
  return filter.since === undefined || line.time === undefined || line.time >= filter.since;
}
