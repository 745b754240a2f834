/**
 * Corporal's typed error: a stable `code` (`CORP_ERR_*`), where it came from, the HTTP status and
 * Matrix errcode it maps to when it reaches a client, and whether retrying can help.
 *
 * Errors crossing a thread or process boundary lose their prototype, so code compares `code`,
 * never `instanceof`.
 */
export type ErrorSource = 'client' | 'upstream' | 'internal' | 'policy' | 'config';

/** Constructor options of {@link CorporalError}. */
export interface CorporalErrorOptions {
  source: ErrorSource;
  status?: number;
  errcode?: string;
  retryable?: boolean;
  cause?: unknown;
}

/** See the module comment. `message` is safe to show to an operator (it never holds secrets). */
export class CorporalError extends Error {
  readonly code: string;
  readonly source: ErrorSource;
  readonly status: number;
  readonly errcode: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: CorporalErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CorporalError';
    this.code = code;
    this.source = options.source;
    this.status = options.status ?? 500;
    this.errcode = options.errcode ?? 'M_UNKNOWN';
    this.retryable = options.retryable ?? false;
  }
}

/** True when `err` carries the given Corporal error code (works across structured clone). */
export function hasErrorCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/**
 * Whether `err` may pass by itself (a timeout, a connection failure, a 5xx, rate limits past their
 * retries), so that retrying the same call later can help; false for refusals and anything that
 * is not a retryable {@link CorporalError} (works across structured clone).
 */
export function isRetryable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === true;
}

/** A human-readable one-line description of any thrown value, for logs. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
