import { pino, type Logger, type LoggerOptions } from 'pino';
import type { MiscConfig, LogLevel } from './config/types.js';
import type { BatchedLineWriter } from './batched-line-writer.js';

export type { Logger } from 'pino';

/**
 * Field paths pino censors wherever they appear in a logged object. Secrets must never reach a
 * log line (matrix-corporal logged raw tokens at debug level); this list is the safety net, the
 * first rule is not to pass secrets to the logger at all.
 */
export const REDACTED_PATHS: readonly string[] = [
  'password', 'token', 'accessToken', 'access_token', 'authorization', 'Authorization',
  'authCredential', 'secret', 'sharedSecret', 'new_password',
  '*.password', '*.token', '*.accessToken', '*.access_token', '*.authorization', '*.Authorization',
  '*.authCredential', '*.secret', '*.new_password',
  'headers.authorization', 'headers.Authorization', 'req.headers.authorization',
];

/** The effective level: `Misc.LogLevel` when set, else debug/info from `Misc.Debug`. */
export function logLevelOf(misc: MiscConfig): LogLevel {
  return misc.LogLevel ?? (misc.Debug ? 'debug' : 'info');
}

/** Where a logger writes its lines, e.g. a {@link BatchedLineWriter}. */
export interface LineDestination {
  write(line: string): void;
  flush?(callback?: (err?: Error) => void): void;
}

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  level: LogLevel;
  /** Which process or thread logs (`supervisor`, `gateway-1`, `control`, …). */
  component: string;
  /**
   * Where lines go; default: stdout, written synchronously. Gateway threads pass a
   * {@link BatchedLineWriter} on stdout: batched, asynchronous, shared with their access log.
   */
  destination?: LineDestination;
}

/**
 * Creates a JSON-lines logger on stdout. Each composition root creates its own logger and passes
 * it down; nothing imports a logger singleton.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const pinoOptions: LoggerOptions = {
    level: options.level,
    base: { component: options.component },
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return pino(pinoOptions, options.destination ?? pino.destination({ dest: 1, sync: true }));
}

/** A logger that discards everything (tests, CLI commands that print their own output). */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
