/**
 * Response-body helpers shared by the pool tasks that call HTTP services (`rest` auth, hook
 * consultations): bounded reads and discarding unread bodies (from common/), and transport errors
 * described without request details.
 */
export { BodyLimitExceededError as BodyTooLargeError, discardBody, readBoundedText } from '../common/bounded-body.js';

/** `ECONNREFUSED`, `UND_ERR_SOCKET`, … or the message: enough to diagnose, never a request detail. */
export function transportErrorText(err: unknown): string {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.message : String(err);
}
