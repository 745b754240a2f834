/**
 * Response-body helpers shared by the pool tasks that call HTTP services (`rest` auth, hook
 * consultations): bounded reads and discarding unread bodies (from common/), and transport errors
 * described without request details.
 */
import { errorCode } from '../common/transport-error.js';

export { BodyLimitExceededError, discardBody } from '../common/bounded-body.js';
export { isDecodingError, readBoundedDecodedText } from '../common/decoded-body.js';

/**
 * `ECONNREFUSED`, `UND_ERR_SOCKET`, … or the message when there is no code: these texts reach
 * logs and hook answers' reasons, so the code alone (an undici message can name the peer).
 */
export function transportErrorText(err: unknown): string {
  return errorCode(err) ?? (err instanceof Error ? err.message : String(err));
}
