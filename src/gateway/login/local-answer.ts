/**
 * A Matrix error the gateway answers itself instead of proxying: status, `errcode`, message and
 * any extra headers (e.g. `Retry-After`). The respond module adds `Content-Type` and CORS.
 */
import type { ClientExchange, HeaderPair } from '../respond.js';

/** See the module comment. */
export interface LocalAnswer {
  readonly status: number;
  readonly errcode: string;
  readonly message: string;
  readonly headers?: readonly HeaderPair[];
  /** `retry_after_ms` in the body (an `M_LIMIT_EXCEEDED` answer). */
  readonly retryAfterMs?: number;
}

/** A frozen {@link LocalAnswer} (they are shared constants, never mutated). */
export function localAnswer(status: number, errcode: string, message: string, headers?: readonly HeaderPair[], retryAfterMs?: number): LocalAnswer {
  const answer: LocalAnswer = headers === undefined ? { status, errcode, message } : { status, errcode, message, headers };
  return Object.freeze(retryAfterMs === undefined ? answer : { ...answer, retryAfterMs });
}

/** Writes `answer` as a Matrix error (with `Content-Type` and CORS headers) through `exchange`. */
export function sendLocalAnswer(exchange: ClientExchange, answer: LocalAnswer): void {
  exchange.sendMatrixError(answer.status, answer.errcode, answer.message, answer.headers ?? [], false, answer.retryAfterMs);
}
