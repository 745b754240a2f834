import { arrayField, objectOf, stringField } from './json-fields.js';
import type { Auth, SynapseHttp } from './synapse-http.js';

/**
 * Delayed events (MSC4140) of the token's user. Synapse 1.163.2 serves them under the unstable
 * prefix only (`rest/client/delayed_events.py`: `releases=()`).
 */
const DELAYED_EVENTS_PATH = '/_matrix/client/unstable/org.matrix.msc4140/delayed_events';

/**
 * Bound of the bytes of the list streamed in (only the ids are held). A user may have
 * `msc4140_max_delayed_events_per_user` (default 100, an operator may raise it) pending events,
 * and Synapse stores a delayed event's content whatever its size (the gateway bounds the bodies it
 * lets through, but not those sent past it: an appservice's, or any from before Corporal): the
 * user decides the size, and a list that could not be read left their events uncancelled when the
 * policy made them inactive (red team 22, F2; red team 23, F1).
 */
const DELAYED_EVENTS_MAX_STREAMED_BYTES = 1024 * 1024 * 1024;

/** Most delayed events listed (Synapse's default allows 100 per user). */
const DELAYED_EVENTS_MAX_COUNT = 100_000;

/**
 * Largest delayed event accepted in the list, its content left out: its own fields are ids, a
 * type, a state key and numbers (the list is read shallowly, so a content of any size streams past).
 * The type and state key, which Synapse does not bound, come from the scheduling request's path,
 * which Synapse's HTTP server (Twisted) bounds with the rest of the request head to 16 KiB: at most
 * about 32 KiB once escaped in the list (`%01` in the path, `\u0001` in the answer).
 */
const DELAYED_EVENT_MAX_OWN_BYTES = 64 * 1024;

/** The `delay_id`s of the token's user's pending delayed events (`GET …/delayed_events`, streamed). */
export async function listDelayedEventIds(http: SynapseHttp, user: Auth): Promise<string[]> {
  const call = 'client.delayed_events.list';
  const answer = await http.requestObject({
    call, method: 'GET', path: DELAYED_EVENTS_PATH, auth: user,
    maxBodyBytes: DELAYED_EVENTS_MAX_STREAMED_BYTES,
    arrayField: {
      key: 'delayed_events', shallow: true, maxElementBytes: DELAYED_EVENT_MAX_OWN_BYTES, maxElements: DELAYED_EVENTS_MAX_COUNT,
      keep: (event) => stringField(objectOf(event, call), 'delay_id', call),
    },
  });
  return arrayField(answer, 'delayed_events', call) as string[];
}

/** Cancels one pending delayed event (`POST …/delayed_events/{delay_id}/cancel`); 404 when it is no longer pending. */
export async function cancelDelayedEvent(http: SynapseHttp, user: Auth, delayId: string): Promise<void> {
  await http.request({ call: 'client.delayed_events.cancel', method: 'POST', path: `${DELAYED_EVENTS_PATH}/${encodeURIComponent(delayId)}/cancel`, json: {}, auth: user });
}
