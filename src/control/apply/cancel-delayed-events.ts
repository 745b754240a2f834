import { CorporalError } from '../../common/errors.js';
import { ErrCode } from '../../common/matrix-errors.js';
import { cancelDelayedEvent, listDelayedEventIds } from '../synapse/delayed-events-api.js';
import { isMatrixError, isUpstreamStatus } from '../synapse/synapse-errors.js';
import type { Auth, SynapseHttp } from '../synapse/synapse-http.js';

/** Error code of a cancellation that stopped at its time budget (`budgetMs`), with delayed events left. */
export const DELAYED_EVENTS_BUDGET_SPENT = 'CORP_ERR_DELAYED_EVENTS_BUDGET_SPENT';

/**
 * Cancels every pending delayed event (MSC4140) of the token's user and returns how many were
 * cancelled. Synapse cancels them itself only when it deactivates an account, not when it locks
 * one, and a delayed event is sent later with no lock check: without this, a user made inactive
 * could still post (or change state) up to `max_event_delay_duration` after the lock.
 * A homeserver that does not know the endpoint (404, 405 or `M_UNRECOGNIZED` to the list) has no
 * delayed events: none are cancelled, quietly. An event that is no longer pending when it is
 * cancelled (404: sent or cancelled in between) counts as done. With `budgetMs`, no cancellation
 * starts once that long has passed since the call began: it rejects with
 * {@link DELAYED_EVENTS_BUDGET_SPENT} instead.
 */
export async function cancelPendingDelayedEvents(http: SynapseHttp, user: Auth, budgetMs = Number.POSITIVE_INFINITY): Promise<number> {
  const startedAt = Date.now();
  let delayIds: string[];
  try {
    delayIds = await listDelayedEventIds(http, user);
  } catch (err) {
    if (isUpstreamStatus(err, 404) || isUpstreamStatus(err, 405) || isMatrixError(err, ErrCode.Unrecognized)) return 0;
    throw err;
  }
  let cancelled = 0;
  for (const delayId of delayIds) {
    if (Date.now() - startedAt > budgetMs) {
      throw new CorporalError(DELAYED_EVENTS_BUDGET_SPENT, `${cancelled} of ${delayIds.length} pending delayed events cancelled within ${budgetMs} ms; the rest wait for the next attempt`, { source: 'upstream', status: 504, retryable: true });
    }
    try {
      await cancelDelayedEvent(http, user, delayId);
      cancelled += 1;
    } catch (err) {
      if (!isUpstreamStatus(err, 404)) throw err;
    }
  }
  return cancelled;
}
