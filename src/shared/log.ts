/** A structured log call: fields first, then the message (pino's signature). */
export type LogFn = (fields: Readonly<Record<string, unknown>>, message: string) => void;

/** The logger the engine writes to; pino satisfies it. */
export interface Logger {
  readonly debug: LogFn;
  readonly info: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;
  /** Whether `level` is written (pino has it); lines whose fields cost something to build ask first. */
  readonly isLevelEnabled?: (level: string) => boolean;
}

const ignore: LogFn = () => undefined;

/** A logger that writes nothing: the default for embedded brokers and tests. */
export const silentLogger: Logger = Object.freeze({ debug: ignore, info: ignore, warn: ignore, error: ignore, isLevelEnabled: () => false });
