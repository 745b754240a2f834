import { arrayField, flag, objectField, objectOf, stringField, stringOrEmpty } from './json-fields.js';
import type { Auth, SynapseHttp } from './synapse-http.js';
import { isUpstreamStatus } from './synapse-errors.js';

/**
 * Synapse's user admin API (synapse.md §1.2), called with the corporal admin's token. None of
 * these needs a token of the user concerned.
 */

/** What the reconciler reads about one account. */
export interface SynapseUser {
  userId: string;
  /** "" when none. */
  displayName: string;
  /** "" when none. */
  avatarUrl: string;
  locked: boolean;
  deactivated: boolean;
  admin: boolean;
  isGuest: boolean;
}

/** One page of {@link listUsersPage}. */
export interface SynapseUserPage {
  users: SynapseUser[];
  /** Pass as `from` for the next page; undefined on the last page. */
  nextToken: string | undefined;
}

/** Fields of `PUT /_synapse/admin/v2/users/{id}` the reconciler sends. */
export interface PutUserBody {
  password?: string;
  logout_devices?: boolean;
  displayname?: string;
  avatar_url?: string;
  admin?: boolean;
  locked?: boolean;
}

/** Largest answer of the account-data read (all of a user's account data, which the user fills). */
export const USER_ACCOUNT_DATA_MAX_BYTES = 16 * 1024 * 1024;

/** `/_synapse/admin/<version>/users/<id><suffix>`, the id percent-encoded. */
function userPath(userId: string, suffix = '', version: 'v1' | 'v2' = 'v2'): string {
  return `/_synapse/admin/${version}/users/${encodeURIComponent(userId)}${suffix}`;
}

function toUser(raw: unknown, call: string): SynapseUser {
  const record = objectOf(raw, call);
  return {
    userId: stringField(record, 'name', call),
    displayName: stringOrEmpty(record['displayname']),
    avatarUrl: stringOrEmpty(record['avatar_url']),
    locked: flag(record['locked']),
    deactivated: flag(record['deactivated']),
    admin: flag(record['admin']),
    isGuest: flag(record['is_guest']),
  };
}

/**
 * One page of `GET /_synapse/admin/v2/users`, guests excluded, deactivated **and locked** users
 * included (v2 leaves locked users out unless asked), in Synapse's default order (by name).
 */
export async function listUsersPage(http: SynapseHttp, admin: Auth, from: string | undefined, limit: number): Promise<SynapseUserPage> {
  const call = 'admin.users.list';
  const answer = await http.requestObject({
      call,
      method: 'GET',
      path: '/_synapse/admin/v2/users',
      query: { from, limit, guests: false, deactivated: true, locked: true },
      auth: admin,
      maxBodyBytes: 64 * 1024 * 1024,
    });
  const next = answer['next_token'];
  return {
    users: arrayField(answer, 'users', call).map((user) => toUser(user, call)),
    nextToken: typeof next === 'string' || typeof next === 'number' ? String(next) : undefined,
  };
}

/** `GET /_synapse/admin/v2/users/{id}`; null when Synapse does not know the user (404). */
export async function getUser(http: SynapseHttp, admin: Auth, userId: string): Promise<SynapseUser | null> {
  const call = 'admin.users.get';
  try {
    return toUser(await http.request({ call, method: 'GET', path: userPath(userId), auth: admin }), call);
  } catch (err) {
    if (isUpstreamStatus(err, 404)) return null;
    throw err;
  }
}

/** `PUT /_synapse/admin/v2/users/{id}`: creates the account or changes the given fields. */
export async function putUser(http: SynapseHttp, admin: Auth, userId: string, body: PutUserBody): Promise<SynapseUser> {
  const call = 'admin.users.put';
  return toUser(await http.request({ call, method: 'PUT', path: userPath(userId), json: body, auth: admin }), call);
}

/**
 * The user's global account data (`GET /_synapse/admin/v1/users/{id}/accountdata`): type →
 * content. Read without a token of the user. Room account data is dropped.
 */
export async function getGlobalAccountData(http: SynapseHttp, admin: Auth, userId: string): Promise<Record<string, unknown>> {
  const call = 'admin.users.account_data';
  const answer = await http.requestObject({
      call,
      method: 'GET',
      path: userPath(userId, '/accountdata', 'v1'),
      auth: admin,
      maxBodyBytes: USER_ACCOUNT_DATA_MAX_BYTES,
    });
  return objectField(objectField(answer, 'account_data', call), 'global', call);
}

/** Bound of a joined-rooms answer: 16 MiB is about 350,000 rooms (as the gateway's). */
export const JOINED_ROOMS_MAX_BYTES = 16 * 1024 * 1024;

/** The rooms `userId` is joined to (`GET /_synapse/admin/v1/users/{id}/joined_rooms`), read without a token of the user. */
export async function getJoinedRoomIds(http: SynapseHttp, admin: Auth, userId: string): Promise<string[]> {
  const call = 'admin.users.joined_rooms';
  const answer = await http.requestObject({
    call, method: 'GET', path: userPath(userId, '/joined_rooms', 'v1'), auth: admin, maxBodyBytes: JOINED_ROOMS_MAX_BYTES,
  });
  return arrayField(answer, 'joined_rooms', call).filter((roomId): roomId is string => typeof roomId === 'string');
}

/**
 * A token for `userId` minted by the admin (`POST /_synapse/admin/v1/users/{id}/login`). No device
 * is created, and the token survives the user's password change and deactivation (synapse.md §0.5):
 * whoever mints one must log it out or give it a short `validUntilMs`. Locking the user blocks it.
 */
export async function loginAsUser(http: SynapseHttp, admin: Auth, userId: string, validUntilMs: number | null): Promise<string> {
  const call = 'admin.users.login_as';
  const answer = await http.requestObject({
      call,
      method: 'POST',
      path: userPath(userId, '/login', 'v1'),
      json: validUntilMs === null ? {} : { valid_until_ms: Math.floor(validUntilMs) },
      auth: admin,
    });
  return stringField(answer, 'access_token', call);
}

/**
 * Lifts every requester-keyed rate limit of `userId` (`override_ratelimit` 0/0). On the admin this
 * also covers the tokens it mints for other users, whose authenticated entity is the admin
 * (synapse.md §1.6).
 */
export async function liftRateLimits(http: SynapseHttp, admin: Auth, userId: string): Promise<void> {
  await http.request({
    call: 'admin.users.override_ratelimit',
    method: 'POST',
    path: userPath(userId, '/override_ratelimit', 'v1'),
    json: { messages_per_second: 0, burst_count: 0 },
    auth: admin,
  });
}

/**
 * Bound of the bytes of a user's device list streamed in (only the ids are held). The user decides
 * its size: a device per login, each with a display name and the user agent of its last request.
 * A list that could not be read left a locked user's devices, and so their sessions, in place for
 * a later reactivation to revive (red team 23). 64 MiB (some 100,000 devices with long user
 * agents) can be read, and its devices deleted, within one action's deadline.
 */
const DEVICES_MAX_STREAMED_BYTES = 64 * 1024 * 1024;

/** Largest device accepted in the list. */
const DEVICE_MAX_BYTES = 1024 * 1024;

/** Most devices listed (100 `delete_devices` calls). */
const DEVICES_MAX_COUNT = 100_000;

/** Device ids deleted per `delete_devices` call: a request body of a few hundred KiB at most. */
const DEVICES_PER_DELETE = 1000;

/** Device ids of `userId` (`GET /_synapse/admin/v2/users/{id}/devices`, streamed). */
export async function listDeviceIds(http: SynapseHttp, admin: Auth, userId: string): Promise<string[]> {
  const call = 'admin.users.devices';
  const answer = await http.requestObject({
    call, method: 'GET', path: userPath(userId, '/devices'), auth: admin,
    maxBodyBytes: DEVICES_MAX_STREAMED_BYTES,
    arrayField: { key: 'devices', maxElementBytes: DEVICE_MAX_BYTES, maxElements: DEVICES_MAX_COUNT, keep: (device) => stringField(objectOf(device, call), 'device_id', call) },
  });
  return arrayField(answer, 'devices', call) as string[];
}

/**
 * Deletes devices of `userId`, which invalidates their access tokens (`POST …/delete_devices`),
 * {@link DEVICES_PER_DELETE} at a time.
 */
export async function deleteDevices(http: SynapseHttp, admin: Auth, userId: string, deviceIds: readonly string[]): Promise<void> {
  for (let from = 0; from < deviceIds.length; from += DEVICES_PER_DELETE) {
    await http.request({
      call: 'admin.users.delete_devices',
      method: 'POST',
      path: userPath(userId, '/delete_devices'),
      json: { devices: deviceIds.slice(from, from + DEVICES_PER_DELETE) },
      auth: admin,
    });
  }
}
