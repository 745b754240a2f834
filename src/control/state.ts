import { DEFAULT_NAMED_POWER_LEVELS } from '../common/power-level-value.js';

/**
 * What the reconciler observed on the homeserver, for the policy's users and managed rooms only.
 * Produced by `control/observe`, consumed by the pure planner (`control/plan`). Plain data.
 */
export interface ObservedState {
  /** Policy users that exist on the homeserver, by MXID. A policy user absent here does not exist yet. */
  users: ReadonlyMap<string, ObservedUser>;
  /** Every managed room, by room id, except those in `unreadRooms`. */
  rooms: ReadonlyMap<string, ObservedRoom>;
  /**
   * Managed rooms left unread on purpose (absent or empty when none): an observation of a few users
   * reads only the rooms they are in or should be in. The planner neither plans for these rooms
   * nor reports them skipped.
   */
  unreadRooms?: ReadonlySet<string>;
  /**
   * Policy users with no account of their exact id but one whose id differs only in case (policy
   * id → account id; absent or empty when none was found). Synapse's login and registration treat
   * such ids as one, so Corporal can neither create the policy's account nor manage that one.
   */
  caseVariants?: ReadonlyMap<string, string>;
}

/** One existing homeserver account. */
export interface ObservedUser {
  id: string;
  /** Synapse `locked` flag: Corporal's way of making a user inactive (blocks every token). */
  locked: boolean;
  /** Synapse `deactivated` flag (erased accounts cannot be reactivated by Corporal). */
  deactivated: boolean;
  /** Current display name; "" when none. */
  displayName: string;
  /** Current avatar mxc URI; "" when none. */
  avatarMxcUri: string;
  /**
   * sha512 hex of the source URI the current avatar was uploaded from, read from account data
   * `com.devture.matrix.corporal.avatar_source_uri_hashes` (matrix-corporal's key, so deployments
   * migrate without re-uploads): sha512("") when there is no avatar, "" when the avatar has no
   * recorded source (set by the user, or by someone else).
   */
  avatarSourceUriHash: string;
  /**
   * Whether the account's Synapse password is known to be Corporal's derived password
   * (`hex(HMAC-SHA512(AuthSharedSecret, mxid))`) for the current secret, as recorded in account data.
   */
  derivedPasswordSet: boolean;
  /**
   * Set when the user's account data could not be read (an answer over its bound, a timeout, an
   * error status): why. `avatarSourceUriHash` and `derivedPasswordSet` then mean nothing, and the
   * planner leaves the password and the avatar alone (with a warning) and plans the rest. The
   * account data is the user's to fill (red team 12, F1): one user's must not stop the others'
   * reconciliation, nor their own lock.
   */
  accountDataError?: string;
  /** With `accountDataError`: the failure may pass (a timeout, a 5xx, rate limits): the loop retries the user. */
  accountDataRetryable?: boolean;
}

/** One managed room as seen by the corporal admin user. */
export interface ObservedRoom {
  roomId: string;
  /**
   * False when the room's state could not be read (unknown room, no permission; the admin API reads
   * rooms the corporal user is not in): the planner then plans nothing for this room and reports it.
   */
  readable: boolean;
  /** Why the room is unreadable (for logs and status). */
  error: string | null;
  /** With `readable` false: the failure may pass (a timeout, a 5xx, rate limits), and the loop retries. */
  retryable?: boolean;
  /** Users currently joined (`membership: join`). */
  joinedMembers: ReadonlySet<string>;
  /** Users currently banned. */
  bannedMembers: ReadonlySet<string>;
  /** Users currently invited (`membership: invite`), not yet joined. */
  invitedMembers: ReadonlySet<string>;
  /**
   * `content.users` of `m.room.power_levels`: the entries whose level Corporal reads exactly as
   * Synapse does (`observe/power-level-values.ts`); an entry it cannot read is left out here and
   * named in `nonIntegerLevels`. When there is no such event (`hasPowerLevels` false), Synapse's
   * implicit levels instead: the room's creator at 100 (before room v12), nobody else.
   */
  powerLevelUsers: Readonly<Record<string, number>>;
  /**
   * Whether the room has an `m.room.power_levels` event (state key `""`). Rooms made by
   * `createRoom` always do; one without it (a remote or hand-built room) gets none from Corporal,
   * since writing one would strip the creator's implicit power.
   */
  hasPowerLevels: boolean;
  /**
   * `content.replacement_room` of the room's `m.room.tombstone` (state key `""`) when it is a
   * string, else `null`: clients treat the room as replaced by that one.
   */
  replacementRoom: string | null;
  /**
   * `content.join_rule` of the room's `m.room.join_rules` (state key `""`) when it is a string,
   * else `null` (no such event: Synapse's auth rules then let nobody join uninvited). Synapse's
   * admin join API joins a user to a room that is not `public` only by having the admin invite
   * them first, which needs the corporal user in the room.
   */
  joinRule: string | null;
  /** `content.users_default` (0 when absent). */
  usersDefault: number;
  /**
   * The levels the reconciler's actions need in this room, from `m.room.power_levels` with
   * Synapse's defaults when absent (also when there is no such event): `kick` (50), `invite` (0),
   * and `setPowerLevels`, the level to send `m.room.power_levels` itself
   * (`events["m.room.power_levels"]`, else `state_default`, else 50).
   */
  actionLevels: ActionLevels;
  /**
   * The fields of `m.room.power_levels` that are not JSON integers (`kick`, `users["@x:hs"]`, …;
   * empty when there are none or no event): possible only in room versions 1–9, from a remote
   * server. Synapse refuses such content in a new event, so Corporal does not write this room's
   * power levels, and it cannot tell those levels it does not read exactly (red team 12, F4).
   */
  nonIntegerLevels: readonly string[];
  /**
   * Room v12+ creators (the `m.room.create` sender and `additional_creators`): unlimited power,
   * never listed in `users`, and never touched by Corporal.
   */
  creators: ReadonlySet<string>;
}

/** The levels the corporal user needs for the reconciler's actions in a room (see `ObservedRoom.actionLevels`). */
export interface ActionLevels {
  /** `kick`: to take a locked user out of a room (`room.leave` with `viaKick`). */
  kick: number;
  /** `invite`: the admin join API invites as the corporal user into a room that is not public. */
  invite: number;
  /** The send level of `m.room.power_levels`: `room.users_set_power_levels`. */
  setPowerLevels: number;
}

/** Synapse's defaults for {@link ActionLevels} (`DEFAULT_NAMED_POWER_LEVELS`). */
export const DEFAULT_ACTION_LEVELS: Readonly<ActionLevels> = Object.freeze({
  kick: DEFAULT_NAMED_POWER_LEVELS.kick,
  invite: DEFAULT_NAMED_POWER_LEVELS.invite,
  setPowerLevels: DEFAULT_NAMED_POWER_LEVELS.setPowerLevels,
});
