/**
 * The numbers of the log files LevelDB replays at open, from its MANIFEST (named by `CURRENT`):
 * logs numbered at least the last `log number` of its version edits, and the `prev log number`.
 * An older log left behind (a crash between a MANIFEST update and the log's deletion) is already
 * in the tables and is not replayed. The MANIFEST is a log file (log-reader.ts) of VersionEdits:
 * tagged fields, varint32 tags (LevelDB `version_edit.cc`).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readLog } from './log-reader.js';

/** Which logs LevelDB replays. */
export interface LiveLogs {
  readonly logNumber: number;
  readonly prevLogNumber: number;
}

const COMPARATOR = 1;
const LOG_NUMBER = 2;
const NEXT_FILE = 3;
const LAST_SEQUENCE = 4;
const COMPACT_POINTER = 5;
const DELETED_FILE = 6;
const NEW_FILE = 7;
const PREV_LOG_NUMBER = 9;

class EditReader {
  at = 0;
  constructor(readonly bytes: Buffer) {}

  get done(): boolean {
    return this.at >= this.bytes.length;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const byte = this.bytes[this.at++];
      if (byte === undefined) throw new Error('varint past the end');
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value;
      scale *= 128;
    }
    throw new Error('varint too long');
  }

  slice(): void {
    this.at += this.varint();
    if (this.at > this.bytes.length) throw new Error('slice past the end');
  }
}

/** Applies one VersionEdit's log numbers to `live`. */
function applyEdit(edit: Buffer, live: { logNumber: number; prevLogNumber: number }): void {
  const r = new EditReader(edit);
  while (!r.done) {
    const tag = r.varint();
    switch (tag) {
      case COMPARATOR:
        r.slice();
        break;
      case LOG_NUMBER:
        live.logNumber = r.varint();
        break;
      case PREV_LOG_NUMBER:
        live.prevLogNumber = r.varint();
        break;
      case NEXT_FILE:
      case LAST_SEQUENCE:
        r.varint();
        break;
      case COMPACT_POINTER:
        r.varint();
        r.slice();
        break;
      case DELETED_FILE:
        r.varint();
        r.varint();
        break;
      case NEW_FILE:
        r.varint();
        r.varint();
        r.varint();
        r.slice();
        r.slice();
        break;
      default:
        throw new Error(`unknown version edit tag ${tag}`);
    }
  }
}

/**
 * The live log numbers of the LevelDB at `dir`; undefined when there is no database yet or its
 * MANIFEST cannot be read (LevelDB's own open then decides).
 */
export async function liveLogs(dir: string): Promise<LiveLogs | undefined> {
  try {
    const current = (await readFile(join(dir, 'CURRENT'), 'utf8')).trim();
    if (!/^MANIFEST-\d+$/.test(current)) return undefined;
    const live = { logNumber: 0, prevLogNumber: 0 };
    for (const record of readLog(await readFile(join(dir, current))).records) applyEdit(record.data, live);
    return live;
  } catch {
    return undefined;
  }
}
