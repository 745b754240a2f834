import { ErrCode } from '../../common/matrix-errors.js';
import type { AliasTarget } from './alias-resolver.js';

/**
 * The outcome of a policy check: let the request through to Synapse, or answer it locally with a
 * Matrix error `{"errcode","error"}` and this HTTP status. Decisions are frozen constants built
 * at module load (see {@link DECISIONS}); nothing is allocated per request, except for a join or
 * knock by alias allowed for the room the alias resolved to: `pinnedRoom` makes the gateway
 * forward it by that room id (check-phase.ts).
 */
export type Decision =
  | { readonly allow: true; readonly pinnedRoom?: AliasTarget }
  | { readonly allow: false; readonly status: number; readonly errcode: string; readonly message: string; readonly softLogout?: true };

/**
 * A denying {@link Decision}. `softLogout`: the answer also carries `"soft_logout": true` (Synapse's
 * mark of an expired token, which the client is to refresh); send it with `sendDenial` (check-phase.ts).
 */
export type Denial = Extract<Decision, { allow: false }>;

/** Why an account whose id differs only in case from a policy user's is refused (checks and login). */
export const CASE_VARIANT_MESSAGE = "Denied by policy (this account's user id differs only in case from one the policy manages; the policy must name it exactly)";

/** The one allowing decision. */
export const ALLOW: Decision = Object.freeze({ allow: true });

function deny(message: string, errcode: string = ErrCode.Forbidden, status = 403): Denial {
  return Object.freeze({ allow: false, status, errcode, message });
}

/**
 * Every denial the checks produce. The messages of matrix-corporal's rules are its exact strings
 * (typos included: clients and tests match on them); the `*` entries marked "Corporal" are
 * Corporal's own rules (docs/firewall.md, migration guide).
 */
export const DECISIONS = Object.freeze({
  /** 401: a policy-checked route that needs a token got none. */
  missingToken: deny('Missing access token', ErrCode.MissingToken, 401),
  /** 403 (matrix-corporal's status; the spec says 401): the token did not resolve to a user. */
  unknownToken: deny('Failed mapping access token to user id', ErrCode.UnknownToken),
  /**
   * 401 with `soft_logout: true`, Synapse's own answer for an expired refreshable token (its one
   * soft-logout answer, text included, in 1.163.2: `api/auth/internal.py`): matrix-corporal's 403
   * would read as a hard logout to a client that should just refresh.
   */
  expiredToken: Object.freeze({ ...deny('Access token has expired', ErrCode.UnknownToken, 401), softLogout: true } as const),
  /** 401, Synapse's own answer for a locked account (Corporal locks inactive users). */
  userLocked: deny('User account has been locked', ErrCode.UserLocked, 401),
  /** Corporal: an account whose id differs only in case from a policy user's (identity/inactive-in-policy.ts). */
  caseVariantOfManagedUser: deny(CASE_VARIANT_MESSAGE),
  /** 503, Corporal: the policy kept changing while the check looked something up (retry). */
  policyChanging: deny('The policy changed while this request was being checked; try again', ErrCode.Unknown, 503),
  /** The body of a route whose check reads it is not a JSON object (matrix-corporal's message). */
  notJson: deny('cannot understand request body payload (not JSON)', ErrCode.BadJson),
  /** Corporal: an `m.room.redaction` whose `redacts` is not an event id, from a user the redaction rule restricts. */
  redactsNotString: deny('`redacts` must be an event id (a string)', ErrCode.BadJson),
  deniedByPolicy: deny('Denied by policy'),
  cannotCreateRooms: deny('Denied by policy (cannot create rooms)'),
  cannotCreateEncryptedRooms: deny('Denied by policy (cannot create encrypted rooms)'),
  cannotCreateUnencryptedRooms: deny('Denied by policy (cannot create unencrypted rooms)'),
  unallowedDisplayName: deny('Denied - unallowed display name'),
  deactivateDenied: deny('Denied'),
  unauthenticatedPasswordReset: deny('Denied: unauthenticted password requests are not allowed on this server'),
  passthroughPasswordChange: deny('Denied: passthrough user, but policy does not allow password changes'),
  nonPassthroughPasswordChange: deny(
    'Denied: non-passthrough users are always authenticated against matrix-corporal, so password resets make no sense',
  ),
  /** Corporal: joining or knocking on a managed room the user's policy does not list. */
  roomNotInPolicy: deny('Denied by policy (the policy does not list you in this managed room)'),
  /** Corporal: a room alias could not be resolved, so the room cannot be checked (fail closed). */
  aliasUnresolvable: deny('Denied by policy (the room alias could not be resolved to check it)'),
  /** Corporal: an upgrade under an encryption flag, of a room whose encryption could not be read (fail closed). */
  roomEncryptionUnreadable: deny('Denied by policy (the room\'s encryption could not be read to check the upgrade)'),
  /** Corporal: a redaction of a room's `m.room.encryption` event by a user who must keep rooms encrypted. */
  cannotUnencryptRoom: deny('Denied by policy (cannot make rooms unencrypted)'),
  /** Corporal: the room's encryption could not be read to tell whether a redaction removes it (fail closed). */
  redactionTargetUnreadable: deny('Denied by policy (the room\'s encryption could not be read to check the redaction)'),
  /** Corporal: kicking, banning or otherwise removing a member the policy requires in the room. */
  requiredMember: deny('Denied by policy (the policy requires this user in this room)'),
  /** Corporal: a power-levels change that moves a managed user's level away from the policy. */
  powerLevels: deny("Denied by policy (managed users' power levels in this room are set by the policy)"),
  /** Corporal: upgrading a managed room (the replacement room would be unmanaged). */
  managedRoomUpgrade: deny('Denied by policy (managed rooms cannot be upgraded)'),
  /**
   * Corporal: a password (or other login) stage on a route that runs without a token, where no flow
   * has one and Synapse would test any user's password without a rate limit (checks/uia-stages.ts).
   */
  loginStageWithoutToken: deny('Denied (a password stage is not part of registration, nor of a password reset without an access token)'),
  /** Corporal: registering a user id the policy manages. */
  reservedUserId: deny('Denied by policy (this user id is managed by the policy)'),
  /** Corporal (matrix-corporal's login answer): an inactive managed user minting a login token. */
  deactivatedInPolicy: deny('Deactivated in policy', ErrCode.UserDeactivated),
  /**
   * Corporal: removing, banning or demoting the corporal user in a managed room; the reconciler
   * acts there as that user, so it would lose the power to enforce the policy.
   */
  corporalUserProtected: deny("Denied by policy (the corporal user cannot be removed from or demoted in a managed room)"),
  /**
   * Corporal: a request through the gateway whose appservice `user_id` makes it act as the corporal
   * user (identity/inactive-in-policy.ts).
   */
  corporalUserMasquerade: deny('Denied (an appservice cannot act as the corporal user through the gateway)'),
  /**
   * Corporal: a power-levels change in a managed room that grows the event past
   * `POWER_LEVELS_GROWTH_BOUND_BYTES` (checks/power-levels-check.ts): the reconciler's writes, which
   * merge into the current content, would no longer fit in Synapse's 64 KiB (red team 23, F3).
   */
  powerLevelsTooLarge: deny("Denied by policy (the power-levels event would leave no room for the policy's levels; remove entries in the same change to make room)"),
  /**
   * Corporal: `m.room.power_levels` under a state key other than `""` in a managed room. Inert to
   * Synapse, but read by the reconciler with the room's power levels when it reads the room by
   * type, so as many of them as rate limits allow could make the room unreadable (red team 24, F1).
   */
  powerLevelsOtherStateKey: deny('Denied by policy (power-levels events under another state key are not allowed in managed rooms)'),
  /** Corporal: a power-levels change in a managed room whose current levels could not be read to check it (fail closed). */
  powerLevelsUnreadable: deny("Denied by policy (the room's power levels could not be read to check the change)"),
  /** Corporal: an MSC4140 delayed membership or power-levels event in a managed room (checks/delayed-events.ts). */
  delayedPolicedEvent: deny('Denied by policy (delayed membership, power-level, encryption, tombstone and redaction events are not allowed)'),
  /** Corporal: a client writing account data in Corporal's own namespaces (common/corporal-account-data.ts). */
  corporalAccountData: deny("Denied (this account data type is reserved for Corporal's own records)"),
  /** Corporal: a managed user changing 3PIDs while `forbid3pidChanges` is on. */
  threepidChanges: deny('Denied by policy (3PID changes are not allowed)'),
});
