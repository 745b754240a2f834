import type { RouteId } from '../router/index.js';
import type { PolicyCheck } from './check-input.js';
import { authenticatedCheck } from './check-input.js';
import { ALLOW } from './decision.js';
import { accountDataWrite, accountDeactivate, accountPassword, accountThreepid, loginGetToken, register } from './account-checks.js';
import { profileAvatarUrl, profileDisplayName } from './profile-checks.js';
import { roomCreate, roomStateEncryption, roomStateTombstone, roomUpgrade } from './room-creation-checks.js';
import { roomRedact, roomRedactionEvent } from './redaction-checks.js';
import {
  roomJoin, roomJoinByIdOrAlias, roomKnockByIdOrAlias, roomKickOrBan, roomLeave, roomStateMember,
} from './room-membership-checks.js';
import { roomStatePowerLevels } from './power-levels-check.js';

/**
 * `room.send` (matrix-corporal route 6): always allowed. Being policy-checked means it needs a
 * token, and the policy-checked hook events fire for it.
 */
const roomSend: PolicyCheck = authenticatedCheck(false, () => ALLOW);

/**
 * The route ids matrix-corporal itself policed (its ten routes). Hooks see a request without a
 * user on one of the others as matrix-corporal did — a catch-all request, for which the
 * `*UnauthenticatedRequest` hooks fire (parity review 18, P1: a hook closing `POST /register`
 * was skipped once `register` became policy-checked).
 */
export const REFERENCE_POLICED_ROUTES: ReadonlySet<RouteId> = new Set<RouteId>([
  'room.leave', 'room.kick', 'room.state.member', 'room.state.encryption', 'room.create', 'room.send',
  'profile.displayname.set', 'profile.avatar_url.set', 'account.deactivate', 'account.password',
]);

/**
 * The policy check of every policed route id, built once at module load. A route id that is not a
 * key here is not policy-checked: it goes through the catch-all (hooks, then proxy).
 *
 * Each route id stands for one Synapse action under every prefix, encoding, txn form and trailing
 * slash (the router folds those), so one entry polices every way of reaching that action.
 */
export const POLICY_CHECKS: ReadonlyMap<RouteId, PolicyCheck> = new Map<RouteId, PolicyCheck>([
  // matrix-corporal's ten routes
  ['room.leave', roomLeave],
  ['room.kick', roomKickOrBan],
  ['room.state.member', roomStateMember],
  ['room.state.encryption', roomStateEncryption],
  ['room.create', roomCreate],
  ['room.send', roomSend],
  ['profile.displayname.set', profileDisplayName],
  ['profile.avatar_url.set', profileAvatarUrl],
  ['account.deactivate', accountDeactivate],
  ['account.password', accountPassword],
  // Corporal's rules for the gaps matrix-corporal left to hooks
  ['room.ban', roomKickOrBan],
  ['room.join', roomJoin],
  ['room.join_by_alias', roomJoinByIdOrAlias],
  ['room.knock', roomKnockByIdOrAlias],
  ['room.state.power_levels', roomStatePowerLevels],
  ['room.upgrade', roomUpgrade],
  ['room.state.tombstone', roomStateTombstone],
  ['room.redact', roomRedact],
  ['room.send.redaction', roomRedactionEvent],
  ['room.state.redaction', roomRedactionEvent],
  ['register', register],
  ['login.get_token', loginGetToken],
  ['account.3pid.add', accountThreepid],
  ['account.3pid.bind', accountThreepid],
  ['account.3pid.unbind', accountThreepid],
  ['account.3pid.delete', accountThreepid],
  ['account_data.set', accountDataWrite],
]);
