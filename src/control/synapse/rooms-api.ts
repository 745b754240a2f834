import { arrayField, objectOf, stringField } from './json-fields.js';
import { CorporalError, hasErrorCode } from '../../common/errors.js';
import { isUpstreamStatus, SynapseErrorCode } from './synapse-errors.js';
import type { Auth, SynapseHttp } from './synapse-http.js';

/**
 * Room calls of the reconciler: state and members through the admin API (no membership of the
 * corporal user needed to read), joins through the admin join API, kicks and power levels through
 * the client API as the corporal user, leaves as the user.
 */

/** A state event as the reconciler reads it. */
export interface StateEvent {
  type: string;
  stateKey: string;
  sender: string;
  content: Record<string, unknown>;
  /** `origin_server_ts`, when the answer has it. */
  originServerTs?: number;
}

/** Bound of a room's member list (ids only, at most 255 bytes each): rooms of well over 100 000 members. */
const ROOM_MEMBERS_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Bound of the bytes of one state read streamed in (the room's member events, or everything when
 * a room is read whole): its members decide its size (red team 22, F1: 400 invitations with
 * 64 KiB reasons made 76 MB), so the bound is far above any one room and the call's deadline
 * bounds it too.
 */
const ROOM_STATE_MAX_STREAMED_BYTES = 1024 * 1024 * 1024;

/**
 * Bound of the first read of a room, its whole state in one call: far above what a room's own
 * state takes besides its members (a room of 100,000 members is about 50 MB), so a normal room
 * costs one call. A room past it is read type by type ({@link getRoomStateByType}), as is one
 * whose whole answer Synapse does not finish within the call's deadline: custom state events,
 * which anyone at `state_default` may add (red team 24, F1), must not make a room unreadable.
 */
const ROOM_STATE_WHOLE_READ_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Largest state event accepted: Synapse refuses events over 64 KiB of canonical JSON, and its
 * answers escape non-ASCII characters (up to 12 bytes for a 4-byte character; 6 for a control
 * character).
 */
const STATE_EVENT_MAX_BYTES = 1024 * 1024;

/**
 * Most state events read from one room: each member event kept costs about 250 bytes of heap, so
 * this bounds one room at about 250 MB however its members swell it (rooms rarely pass 100 000).
 */
const ROOM_STATE_MAX_EVENTS = 1_000_000;

/**
 * State types the reconciler reads the content of (state key `""`): the room's creation, power
 * levels, join rule and tombstone. Of member events only `membership` is kept; other events are
 * dropped as they stream in.
 */
const READ_STATE_TYPES: ReadonlySet<string> = new Set(['m.room.create', 'm.room.power_levels', 'm.room.join_rules', 'm.room.tombstone']);

/**
 * Bound of a read by type whose failure costs little ({@link getStateEvent}, and the join rule of
 * {@link getRoomStateByType}): the one event of state key `""` is at most
 * {@link STATE_EVENT_MAX_BYTES}; whatever else comes is what someone stored under other state keys.
 */
const ROOM_STATE_TYPE_READ_MAX_BYTES = 64 * 1024 * 1024;

function roomPath(prefix: string, roomId: string, suffix = ''): string {
  return `${prefix}/rooms/${encodeURIComponent(roomId)}${suffix}`;
}

/**
 * The room's current state as the reconciler reads it: every member event with only its
 * `membership`, and the events of {@link READ_STATE_TYPES} with state key `""` whole; nothing
 * else. One call (`GET /_synapse/admin/v1/rooms/{id}/state`, streamed) reads a normal room. When
 * that answer is too large for {@link ROOM_STATE_WHOLE_READ_MAX_BYTES} or for the call's
 * deadline, or Synapse fails to build it (5xx), the room is read again type by type, which
 * leaves out whatever else its members stored in it ({@link getRoomStateByType}); `onSwollen` is
 * called when that read succeeds, so that the caller can read the room by type at once next time.
 * (Not when it fails too: a Synapse that fails every call, restarting or hung, must not leave
 * every room it failed to be read by type, 6 calls instead of 1, for the hour the caller keeps it;
 * review 27.)
 */
export async function getRoomState(http: SynapseHttp, admin: Auth, roomId: string, onSwollen?: () => void): Promise<StateEvent[]> {
  try {
    return await readState(http, admin, roomId, undefined, ROOM_STATE_WHOLE_READ_MAX_BYTES);
  } catch (err) {
    if (!isSwollenAnswer(err)) throw err;
  }
  const events = await getRoomStateByType(http, admin, roomId);
  onSwollen?.();
  return events;
}

/**
 * {@link getRoomState} without the whole read, for a room whose whole state is too large: what
 * the reconciler reads, asked for type by type (Synapse's `?type=` filter, which returns every
 * state key of the type), so that state of other types costs nothing however much of it there is:
 * - member events (`?type=m.room.member`); if those too are past the bounds (bans of made-up ids
 *   with long reasons, remote members), the joined members' ids alone
 *   (`/_synapse/admin/v1/rooms/{id}/members`): bans and invitations are then unknown, which costs
 *   the planner a warning about a banned user (the join fails instead) and the acceptance of an
 *   invitation of the corporal user, never a kick or a level;
 * - `m.room.create` (Synapse's auth rules allow exactly one) and `m.room.power_levels` (state key
 *   `""` kept; the gateway refuses other state keys in managed rooms); past the bounds, the room is
 *   unreadable;
 * - `m.room.join_rules` (state key `""` kept). Anyone at `state_default` (moderators by Synapse's
 *   default levels) may store it under other state keys; if those swell the read past its bounds,
 *   the room is read without a join rule, which only holds joins while the corporal user is not
 *   joined (as a moderator's own `invite` rule would). Not the room details' `join_rules`: Synapse
 *   copies there the content of the latest join rule event of **any** state key, later, from a
 *   background job, and not at all with `stats.enabled: false` (review 27);
 * - the tombstone's replacement room from the room's details (`GET /_synapse/admin/v1/rooms/{id}`),
 *   which Synapse reads from the current state under state key `""` when asked.
 */
export async function getRoomStateByType(http: SynapseHttp, admin: Auth, roomId: string): Promise<StateEvent[]> {
  let members: StateEvent[];
  try {
    members = await readState(http, admin, roomId, 'm.room.member', ROOM_STATE_MAX_STREAMED_BYTES);
  } catch (err) {
    if (!isSwollenAnswer(err)) throw err;
    members = (await getJoinedMembers(http, admin, roomId)).map((userId) => ({ type: 'm.room.member', stateKey: userId, sender: '', content: { membership: 'join' } }));
  }
  const create = await readState(http, admin, roomId, 'm.room.create', ROOM_STATE_MAX_STREAMED_BYTES);
  const powerLevels = await readState(http, admin, roomId, 'm.room.power_levels', ROOM_STATE_MAX_STREAMED_BYTES);
  let joinRules: StateEvent[];
  try {
    joinRules = await readState(http, admin, roomId, 'm.room.join_rules', ROOM_STATE_TYPE_READ_MAX_BYTES);
  } catch (err) {
    if (!isSwollenAnswer(err)) throw err;
    joinRules = [];
  }
  return [...members, ...create, ...powerLevels, ...joinRules, ...(await tombstoneOfDetails(http, admin, roomId))];
}

/**
 * The room's event of `type` (not `m.room.member`) under state key `""`, content whole
 * (`GET /_synapse/admin/v1/rooms/{id}/state?type=`), or `null` when it has none. Events of that
 * type under other state keys come too and are dropped: past {@link ROOM_STATE_TYPE_READ_MAX_BYTES}
 * of them, or the deadline, it rejects.
 */
export async function getStateEvent(http: SynapseHttp, admin: Auth, roomId: string, type: string): Promise<StateEvent | null> {
  const events = await readState(http, admin, roomId, type, ROOM_STATE_TYPE_READ_MAX_BYTES);
  return events.find((event) => event.stateKey === '') ?? null;
}

/**
 * One `/state` call, streamed, filtered to `type` when given; each event as {@link readStateEvent}
 * keeps it (with `type` given, only what that type keeps).
 */
async function readState(http: SynapseHttp, admin: Auth, roomId: string, type: string | undefined, maxBodyBytes: number): Promise<StateEvent[]> {
  const call = 'admin.rooms.state';
  const answer = await http.requestObject({
    call, method: 'GET', path: roomPath('/_synapse/admin/v1', roomId, '/state'), auth: admin, ...(type === undefined ? {} : { query: { type } }),
    maxBodyBytes,
    arrayField: { key: 'state', maxElementBytes: STATE_EVENT_MAX_BYTES, maxElements: ROOM_STATE_MAX_EVENTS, keep: (raw) => readStateEvent(raw, call, type) },
  });
  return arrayField(answer, 'state', call) as StateEvent[];
}

/**
 * Whether a failed state read is one a read by type can avoid: an answer past the bounds, one
 * Synapse did not finish within the deadline, or one it failed to build (a 5xx, such as running
 * out of memory). Not an unreachable Synapse, nor a refusal (404: no such room).
 */
function isSwollenAnswer(err: unknown): boolean {
  if (hasErrorCode(err, SynapseErrorCode.BodyTooLarge) || hasErrorCode(err, SynapseErrorCode.Timeout)) return true;
  return err instanceof CorporalError && err.code === SynapseErrorCode.Status && err.status >= 500;
}

/**
 * The room's `m.room.tombstone` (state key `""`) as its details (`GET /_synapse/admin/v1/rooms/{id}`)
 * give it: `replacement_room`, which Synapse reads from the current state when asked. (The details'
 * `join_rules` and `encryption` are not used: Synapse's stats job copies them from events of those
 * types under any state key, after the event.)
 */
async function tombstoneOfDetails(http: SynapseHttp, admin: Auth, roomId: string): Promise<StateEvent[]> {
  const call = 'admin.rooms.details';
  const details = await http.requestObject({ call, method: 'GET', path: roomPath('/_synapse/admin/v1', roomId), auth: admin });
  const replacement = details['replacement_room'];
  return typeof replacement === 'string' ? [{ type: 'm.room.tombstone', stateKey: '', sender: '', content: { replacement_room: replacement } }] : [];
}

/**
 * What {@link getRoomState} keeps of one event of the answer; `undefined` for an event it drops
 * (and, in a read filtered to `onlyType`, for any other type, which Synapse would not send). In
 * such a read the event of `onlyType` under state key `""` is kept whole ({@link getStateEvent}).
 */
function readStateEvent(raw: unknown, call: string, onlyType: string | undefined): StateEvent | undefined {
  const event = objectOf(raw, call);
  const type = stringField(event, 'type', call);
  if (onlyType !== undefined && type !== onlyType) return undefined;
  const stateKey = typeof event['state_key'] === 'string' ? event['state_key'] : '';
  const content = event['content'];
  const contentObject = typeof content === 'object' && content !== null && !Array.isArray(content) ? (content as Record<string, unknown>) : {};
  let kept: Record<string, unknown>;
  if (type === 'm.room.member') kept = typeof contentObject['membership'] === 'string' ? { membership: contentObject['membership'] } : {};
  else if ((READ_STATE_TYPES.has(type) || type === onlyType) && stateKey === '') kept = contentObject;
  else return undefined;
  return {
    type,
    stateKey,
    sender: typeof event['sender'] === 'string' ? event['sender'] : '',
    content: kept,
    ...(typeof event['origin_server_ts'] === 'number' ? { originServerTs: event['origin_server_ts'] } : {}),
  };
}

/** Users currently joined (`GET /_synapse/admin/v1/rooms/{id}/members`). */
export async function getJoinedMembers(http: SynapseHttp, admin: Auth, roomId: string): Promise<string[]> {
  const call = 'admin.rooms.members';
  const answer = await http.requestObject({ call, method: 'GET', path: roomPath('/_synapse/admin/v1', roomId, '/members'), auth: admin, maxBodyBytes: ROOM_MEMBERS_MAX_BYTES });
  return arrayField(answer, 'members', call).filter((member): member is string => typeof member === 'string');
}

/**
 * Joins `userId` to the room with the admin join API (`POST /_synapse/admin/v1/join/{room}`). For a
 * room whose join rule is not `public`, Synapse first makes the admin invite the user, so the
 * corporal user must be joined with invite power. Fails (403) when the user is already joined.
 */
export async function adminJoin(http: SynapseHttp, admin: Auth, roomId: string, userId: string): Promise<void> {
  await http.request({ call: 'admin.rooms.join', method: 'POST', path: `/_synapse/admin/v1/join/${encodeURIComponent(roomId)}`, json: { user_id: userId }, auth: admin });
}

/** The corporal user kicks `userId` (`POST /_matrix/client/v3/rooms/{id}/kick`). */
export async function kick(http: SynapseHttp, admin: Auth, roomId: string, userId: string, reason: string): Promise<void> {
  await http.request({ call: 'client.rooms.kick', method: 'POST', path: roomPath('/_matrix/client/v3', roomId, '/kick'), json: { user_id: userId, reason }, auth: admin });
}

/** The token's user joins the room (`POST /_matrix/client/v3/rooms/{id}/join`): accepts an invitation, or joins a public room. */
export async function join(http: SynapseHttp, user: Auth, roomId: string): Promise<void> {
  await http.request({ call: 'client.rooms.join', method: 'POST', path: roomPath('/_matrix/client/v3', roomId, '/join'), json: {}, auth: user });
}

/** The token's user leaves the room (`POST /_matrix/client/v3/rooms/{id}/leave`). */
export async function leave(http: SynapseHttp, user: Auth, roomId: string): Promise<void> {
  await http.request({ call: 'client.rooms.leave', method: 'POST', path: roomPath('/_matrix/client/v3', roomId, '/leave'), json: {}, auth: user });
}

const POWER_LEVELS_PATH = '/state/m.room.power_levels/';

/** Content of the room's `m.room.power_levels` as the corporal user sees it; null when the room has none (404). */
export async function getPowerLevels(http: SynapseHttp, admin: Auth, roomId: string): Promise<Record<string, unknown> | null> {
  const call = 'client.rooms.power_levels.get';
  try {
    return await http.requestObject({ call, method: 'GET', path: roomPath('/_matrix/client/v3', roomId, POWER_LEVELS_PATH), auth: admin });
  } catch (err) {
    if (isUpstreamStatus(err, 404)) return null;
    throw err;
  }
}

/** Sends a new `m.room.power_levels` event as the corporal user. */
export async function putPowerLevels(http: SynapseHttp, admin: Auth, roomId: string, content: Record<string, unknown>): Promise<void> {
  await http.request({ call: 'client.rooms.power_levels.put', method: 'PUT', path: roomPath('/_matrix/client/v3', roomId, POWER_LEVELS_PATH), json: content, auth: admin });
}
