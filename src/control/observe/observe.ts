import { describeError, hasErrorCode, isRetryable } from '../../common/errors.js';
import type { PolicySnapshot } from '../../policy/snapshot.js';
import type { ObservedRoom, ObservedState, ObservedUser } from '../state.js';
import { NO_AVATAR_HASH } from '../plan/avatar-hash.js';
import { AVATAR_SOURCE_HASHES_KEY, PASSWORD_MARKER_KEY, isCurrentPasswordMarker } from '../synapse/account-data-keys.js';
import { getGlobalAccountData, getJoinedRoomIds, getUser, listUsersPage, type SynapseUser } from '../synapse/admin-users-api.js';
import { getRoomState, getRoomStateByType } from '../synapse/rooms-api.js';
import { SynapseErrorCode } from '../synapse/synapse-errors.js';
import type { Auth, SynapseHttp } from '../synapse/synapse-http.js';
import { mapBounded } from '../../common/map-bounded.js';
import { observedRoomFromState, unreadableRoom } from './room-state.js';

/** Users fetched one by one (instead of paging through every account) when a run observes at most this many. */
export const PER_USER_LOOKUP_MAX = 64;

/** How long a room whose state was too large to read whole is read by type at once (`ObserveOptions.swollenRooms`). */
export const SWOLLEN_ROOM_MEMORY_MS = 60 * 60 * 1000;

/** Page size of the user list. */
export const USER_PAGE_SIZE = 500;

/** Options of {@link observe}. */
export interface ObserveOptions {
  http: SynapseHttp;
  admin: Auth;
  /** `Matrix.AuthSharedSecret`, to tell whether the password marker is current. */
  authSharedSecret: string;
  /** Requests in flight at once (`Reconciliation.Concurrency`). */
  concurrency: number;
  /** Observe only these policy users (a changed-users run); default every policy user. */
  users?: ReadonlySet<string>;
  /**
   * Managed rooms whose state was too large to read whole (`getRoomState`), kept across runs by
   * the loop, each with the time until which it is read by type at once, without asking Synapse
   * for the whole answer again (Synapse loads every event of it, and the reconciler reads up to
   * 64 MiB or waits up to the call's deadline for nothing). Entries expire after {@link SWOLLEN_ROOM_MEMORY_MS}, so that a room that
   * only timed out while Synapse was busy is read in one call again; rooms no longer managed are
   * dropped.
   */
  swollenRooms?: Map<string, number>;
  /** Clock for {@link swollenRooms}; default `Date.now`. */
  now?: () => number;
}

/** What {@link observe} found, and what it cost. */
export interface Observation {
  state: ObservedState;
  /** Policy users looked at (existing or not). */
  usersObserved: number;
  /** HTTP requests sent to Synapse while observing. */
  requests: number;
}

/**
 * Reads the homeserver state the planner needs, for the policy's users (or the given subset) and
 * every managed room, and nothing else:
 * - accounts: the paginated admin user list (locked and deactivated included), or one lookup per
 *   user for small subsets;
 * - per existing policy user, its global account data through the admin API (no user token): the
 *   avatar source hash (matrix-corporal's key) and Corporal's derived-password marker;
 * - per managed room, once, its whole state through the admin API: joined and banned members,
 *   power levels and (room v12+) creators; a room whose state is too large to read whole is read
 *   by type (`getRoomState`), and then by type at once for a while (`swollenRooms`). When the
 *   users are looked up one by one, only the
 *   managed rooms they are in (one joined-rooms read per existing user) or should be in are read;
 *   the others are listed in `ObservedState.unreadRooms`, so that a changed user costs a few
 *   requests, not the state of every managed room.
 * Requests run in parallel, at most `concurrency` at once. A room whose state cannot be read is
 * reported `readable: false` with the error, a user whose account data cannot be read with
 * `accountDataError`; only an unreachable Synapse or a failed read of the accounts themselves
 * fails the whole observation.
 */
export async function observe(policy: PolicySnapshot, options: ObserveOptions): Promise<Observation> {
  const { http } = options;
  const requestsBefore = http.requestCount;
  const wanted = options.users === undefined ? [...policy.users.keys()] : [...options.users].filter((userId) => policy.users.has(userId));
  const oneByOne = isOneByOne(wanted, options);
  const { accounts, caseVariants } = await findAccounts(wanted, oneByOne, options);
  const roomIds = oneByOne ? await roomsOf(wanted, accounts, policy, options) : [...policy.managedRoomIds];

  const users = new Map<string, ObservedUser>();
  const rooms = new Map<string, ObservedRoom>();
  type Task = { kind: 'user'; account: SynapseUser } | { kind: 'room'; roomId: string };
  const tasks: Task[] = [
    ...[...accounts.values()].map((account): Task => ({ kind: 'user', account })),
    ...roomIds.map((roomId): Task => ({ kind: 'room', roomId })),
  ];
  await mapBounded(tasks, options.concurrency, async (task) => {
    if (task.kind === 'user') users.set(task.account.userId, await observeUser(task.account, options));
    else rooms.set(task.roomId, await observeRoom(task.roomId, options));
  });
  for (const roomId of options.swollenRooms?.keys() ?? []) if (!policy.managedRoomIds.has(roomId)) options.swollenRooms?.delete(roomId);
  const unreadRooms = new Set([...policy.managedRoomIds].filter((roomId) => !rooms.has(roomId)));
  return {
    state: { users: inOrder(wanted, users), rooms: inOrder([...policy.managedRoomIds], rooms), caseVariants, ...(unreadRooms.size > 0 ? { unreadRooms } : {}) },
    usersObserved: wanted.length,
    requests: http.requestCount - requestsBefore,
  };
}

/**
 * The accounts among `wanted` that exist on the homeserver, and for the wanted ids without one, an
 * account whose id differs only in case (see `ObservedState.caseVariants`). One by one, only the
 * lower-cased form of a mixed-case policy id is tried (Synapse creates only lower-case ids); the
 * full list finds every variant.
 */
async function findAccounts(wanted: readonly string[], oneByOne: boolean, options: ObserveOptions): Promise<{ accounts: Map<string, SynapseUser>; caseVariants: Map<string, string> }> {
  const accounts = new Map<string, SynapseUser>();
  const caseVariants = new Map<string, string>();
  if (oneByOne) {
    await mapBounded(wanted, options.concurrency, async (userId) => {
      const account = await getUser(options.http, options.admin, userId);
      if (account !== null) accounts.set(account.userId, account);
      else if (userId !== userId.toLowerCase() && (await getUser(options.http, options.admin, userId.toLowerCase())) !== null) caseVariants.set(userId, userId.toLowerCase());
    });
    return { accounts, caseVariants };
  }
  const wantedSet = new Set(wanted);
  const wantedByLowercase = new Map(wanted.map((userId) => [userId.toLowerCase(), userId]));
  let from: string | undefined;
  do {
    const page = await listUsersPage(options.http, options.admin, from, USER_PAGE_SIZE);
    for (const account of page.users) {
      if (wantedSet.has(account.userId)) accounts.set(account.userId, account);
      else {
        const policyId = wantedByLowercase.get(account.userId.toLowerCase());
        if (policyId !== undefined) caseVariants.set(policyId, account.userId);
      }
    }
    from = page.nextToken;
  } while (from !== undefined);
  for (const userId of accounts.keys()) caseVariants.delete(userId);
  return { accounts, caseVariants };
}

/** Whether the accounts are looked up one by one: a subset of at most {@link PER_USER_LOOKUP_MAX} users. */
function isOneByOne(wanted: readonly string[], options: ObserveOptions): boolean {
  return options.users !== undefined && wanted.length <= PER_USER_LOOKUP_MAX;
}

/**
 * The managed rooms the planner needs for `wanted` alone, in `managedRoomIds` order: those their
 * policy entries list (joins, power levels, bans) and those their accounts are joined to (leaves,
 * kicks). A joined-rooms read that fails for another reason than the connection falls back to every
 * managed room.
 */
async function roomsOf(wanted: readonly string[], accounts: ReadonlyMap<string, SynapseUser>, policy: PolicySnapshot, options: ObserveOptions): Promise<string[]> {
  const all = [...policy.managedRoomIds];
  const needed = new Set<string>();
  for (const userId of wanted) for (const roomId of policy.users.get(userId)?.joinedRooms.keys() ?? []) needed.add(roomId);
  let fallBack = false;
  await mapBounded([...accounts.keys()], options.concurrency, async (userId) => {
    try {
      for (const roomId of await getJoinedRoomIds(options.http, options.admin, userId)) needed.add(roomId);
    } catch (err) {
      if (isConnectionError(err)) throw err;
      fallBack = true;
    }
  });
  return fallBack ? all : all.filter((roomId) => needed.has(roomId));
}

async function observeUser(account: SynapseUser, options: ObserveOptions): Promise<ObservedUser> {
  const observed: ObservedUser = {
    id: account.userId,
    locked: account.locked,
    deactivated: account.deactivated,
    displayName: account.displayName,
    avatarMxcUri: account.avatarUrl,
    avatarSourceUriHash: '',
    derivedPasswordSet: false,
  };
  let accountData: Record<string, unknown>;
  try {
    accountData = await getGlobalAccountData(options.http, options.admin, account.userId);
  } catch (err) {
    // The user decides how much account data there is: a read that fails for that reason is
    // this user's problem, not the pass's (red team 12, F1). A lost connection is everyone's.
    if (isConnectionError(err)) throw err;
    return { ...observed, accountDataError: describeError(err), ...(isRetryable(err) ? { accountDataRetryable: true } : {}) };
  }
  return {
    ...observed,
    avatarSourceUriHash: recordedAvatarHash(account.avatarUrl, accountData[AVATAR_SOURCE_HASHES_KEY]),
    derivedPasswordSet: isCurrentPasswordMarker(accountData[PASSWORD_MARKER_KEY], options.authSharedSecret, account.userId),
  };
}

/**
 * matrix-corporal's reading of the avatar source: sha512("") without an avatar; otherwise the hash
 * recorded under the current mxc URI, "" when there is none (an avatar set by someone else).
 */
function recordedAvatarHash(avatarMxcUri: string, hashes: unknown): string {
  if (avatarMxcUri === '') return NO_AVATAR_HASH;
  if (typeof hashes !== 'object' || hashes === null) return '';
  const recorded = (hashes as Record<string, unknown>)[avatarMxcUri];
  return typeof recorded === 'string' ? recorded : '';
}

/** Errors that say nothing about the room but everything about the connection: they fail the observation. */
const CONNECTION_ERRORS: readonly string[] = [SynapseErrorCode.Unreachable, SynapseErrorCode.Aborted];

function isConnectionError(err: unknown): boolean {
  return CONNECTION_ERRORS.some((code) => hasErrorCode(err, code));
}

async function observeRoom(roomId: string, options: ObserveOptions): Promise<ObservedRoom> {
  const swollen = options.swollenRooms;
  const now = options.now ?? Date.now;
  try {
    const events = (swollen?.get(roomId) ?? 0) > now()
      ? await getRoomStateByType(options.http, options.admin, roomId)
      : await getRoomState(options.http, options.admin, roomId, () => swollen?.set(roomId, now() + SWOLLEN_ROOM_MEMORY_MS));
    return observedRoomFromState(roomId, events);
  } catch (err) {
    if (isConnectionError(err)) throw err;
    return unreadableRoom(roomId, describeError(err), isRetryable(err));
  }
}

/** A map with `order`'s keys first, in that order (deterministic output whatever the completion order). */
function inOrder<V>(order: readonly string[], values: Map<string, V>): Map<string, V> {
  const sorted = new Map<string, V>();
  for (const key of order) {
    const value = values.get(key);
    if (value !== undefined) sorted.set(key, value);
  }
  return sorted;
}
