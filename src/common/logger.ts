import { pino, type Logger, type LoggerOptions } from 'pino';
import type { MiscConfig, LogLevel } from './config/types.js';
import type { BatchedLineWriter } from './batched-line-writer.js';

export type { Logger } from 'pino';

/**
 * Names that secrets carry in this code base: option and field names (camelCase), Matrix and HTTP
 * wire names, and the generic ones. pino's redaction matches names exactly and case-sensitively,
 * so every spelling in use is listed.
 */
const SECRET_NAMES: readonly string[] = [
  'password', 'new_password', 'token', 'accessToken', 'access_token', 'bearerToken', 'metricsBearerToken',
  'authorization', 'Authorization', 'authCredential', 'secret', 'sharedSecret',
  'authSharedSecret', 'registrationSharedSecret',
];

/** The configuration's secret keys, which sit one level deeper (`config.Matrix.AuthSharedSecret`). */
const CONFIG_SECRET_NAMES: readonly string[] = ['AuthSharedSecret', 'RegistrationSharedSecret', 'AuthorizationBearerToken', 'MetricsAuthorizationBearerToken', 'AccessToken'];

/**
 * Field paths pino censors wherever they appear in a logged object: each secret name at the top
 * level and one level down (`{ options: { sharedSecret } }`), the configuration's keys also two
 * levels down (`{ config }`), and a request's `Authorization` header. Secrets must never reach a
 * log line (matrix-corporal logged raw tokens at debug level); this list is the safety net, the
 * first rule is not to pass secrets to the logger at all. Each wildcard level costs a walk of the
 * logged object, hence no deeper levels.
 */
export const REDACTED_PATHS: readonly string[] = Object.freeze([
  ...SECRET_NAMES.flatMap((name) => [name, `*.${name}`]),
  ...CONFIG_SECRET_NAMES.flatMap((name) => [name, `*.${name}`, `*.*.${name}`]),
  'req.headers.authorization',
]);

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
