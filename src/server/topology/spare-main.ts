/**
 * Entry of a spare frontend (bin/ops-broker-spare.js): a process of a local topology forked ahead
 * of need, with the broker's modules already loaded (loading them is most of a frontend's start:
 * ~0.4 s idle, seconds on a busy machine). It waits for `{ instanceDir }` from the supervisor, then
 * runs that member's frontend exactly as `ops-broker --instance-dir DIR` would, logging to the
 * member's broker.log. So a frontend that dies is replaced without paying the load again.
 */
import { resolve } from 'node:path';
import { pino } from 'pino';
import { writeSync } from 'node:fs';
import { pathsOfDir } from '../../instance/layout.js';
import { openAppendNoFollow } from '../../instance/no-follow.js';
import { readRuntimeState } from '../../instance/runtime-file.js';
import { isRecord } from '../../shared/plain-objects.js';
import { serveUntilStopped } from '../main.js';
import { startInstance } from '../start.js';
import { SPARE_READY } from './spare-protocol.js';

/** Waits for the supervisor's assignment (an IPC message `{ instanceDir }`). */
function assignment(): Promise<string> {
  return new Promise((resolveDir) => {
    const onMessage = (message: unknown): void => {
      if (!isRecord(message) || typeof message['instanceDir'] !== 'string' || message['instanceDir'] === '') return;
      process.off('message', onMessage);
      resolveDir(resolve(message['instanceDir']));
    };
    process.on('message', onMessage);
    process.send?.(SPARE_READY);
  });
}

/** Runs the spare; resolves with its exit code (0 after a clean stop). */
export async function spareMain(): Promise<number> {
  const dir = await assignment();
  return serveUntilStopped(async () => {
    const paths = pathsOfDir(dir);
    const level = (await readRuntimeState(paths.runtime)).broker.diagnostics?.logs?.level ?? 'info';
    const fd = openAppendNoFollow(paths.log, 0o600); // the member's broker.log, never through a link
    const log = pino({ level, base: { instance: paths.name, pid: process.pid } }, { write: (line: string) => void writeSync(fd, line) });
    return startInstance(paths, log);
  });
}
