import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const CHILD_SCRIPT = resolve(import.meta.dirname, 'level-broker-child.mjs');
/** The built module the child needs; `npm test` builds it first. */
export const CHILD_DIST_MODULE = resolve(import.meta.dirname, '../../dist/storage/level/level-broker-store.js');

/** Whether dist/ has what the child broker imports. */
export function childBrokerAvailable(): boolean {
  return existsSync(CHILD_DIST_MODULE);
}

/** A broker process on a level store. */
export interface ChildBroker {
  readonly child: ChildProcess;
  readonly port: number;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  /** The lines the child printed after its port line, so far. */
  readonly lines: readonly string[];
  /** Everything the child wrote to stderr so far (an escaped error's stack ends up here). */
  readonly stderr: () => string;
  /** Whether the process is still running. */
  readonly alive: () => boolean;
}

/** Tracks child brokers so afterEach can kill every one still running. */
export class ChildBrokers {
  readonly #children: ChildProcess[] = [];

  /** Starts a child broker on `path`; resolves once it prints its port (rejects if it exits or stays silent). */
  start(path: string, keyHex?: string, timeoutMs = 10_000, env: Record<string, string> = {}): Promise<ChildBroker> {
    const child = spawn(process.execPath, [CHILD_SCRIPT, path, ...(keyHex !== undefined ? [keyHex] : [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    this.#children.push(child);
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    const lines: string[] = [];
    return new Promise<ChildBroker>((resolvePort, reject) => {
      let out = '';
      let err = '';
      let ready = false;
      const timer = setTimeout(() => reject(new Error(`child broker printed no port within ${timeoutMs} ms: ${err}`)), timeoutMs);
      child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const complete = out.split('\n');
        out = complete.pop() ?? '';
        for (const line of complete) {
          if (ready) {
            lines.push(line);
            continue;
          }
          ready = true;
          clearTimeout(timer);
          resolvePort({
            child,
            port: (JSON.parse(line) as { port: number }).port,
            exited,
            lines,
            stderr: () => err,
            alive: () => child.exitCode === null && child.signalCode === null,
          });
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`child broker exited (${code ?? signal}) before listening: ${err}`));
      });
    });
  }

  /** SIGKILLs every child still running and waits for it to exit. */
  async killAll(): Promise<void> {
    const running = this.#children.splice(0).filter((c) => c.exitCode === null && c.signalCode === null);
    await Promise.all(
      running.map(
        (c) =>
          new Promise<void>((done) => {
            c.once('exit', () => done());
            c.kill('SIGKILL');
          }),
      ),
    );
  }
}
