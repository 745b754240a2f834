import { pino, type Logger, type LoggerOptions } from 'pino';
import type { MiscConfig, LogLevel } from './config/types.js';

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

const BATCH_BYTES = 8_192;
const FLUSH_INTERVAL_MS = 200;

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  level: LogLevel;
  /** Which process or thread logs (`supervisor`, `gateway-1`, `control`, …). */
  component: string;
  /** Write synchronously (default true). Gateway threads pass false: lines are batched and written asynchronously (at the latest after 200 ms). */
  sync?: boolean;
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
  const sync = options.sync ?? true;
  if (sync) return pino(pinoOptions, pino.destination({ dest: 1, sync: true }));
  // Asynchronous: lines collect in a buffer written once it holds BATCH_BYTES, and at least every
  // FLUSH_INTERVAL_MS, so a busy gateway thread makes one write per batch instead of one per
  // request line, and a quiet one still shows its lines promptly.
  const logger = pino(pinoOptions, pino.destination({ dest: 1, sync: false, minLength: BATCH_BYTES }));
  setInterval(() => logger.flush(), FLUSH_INTERVAL_MS).unref();
  return logger;
}

/** A logger that discards everything (tests, CLI commands that print their own output). */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
