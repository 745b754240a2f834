import type { PolicyCheck } from './check-input.js';
import { authenticatedCheck } from './check-input.js';
import { ALLOW, DECISIONS, type Decision } from './decision.js';
import { jsonObject, ownField } from '../json-body.js';
import { isCorporalAccountDataType } from '../../common/corporal-account-data.js';
import { hasLoginStage } from './uia-stages.js';

/** Account routes: matrix-corporal routes 9 and 10, and Corporal's register, login-token and 3PID rules. */

/** `account.deactivate` (route 9): managed users cannot deactivate themselves. */
export const accountDeactivate: PolicyCheck = authenticatedCheck('whole', (input, userId) =>
  input.snapshot.users.has(userId) ? DECISIONS.deactivateDenied : ALLOW,
);

/**
 * `account.password` (route 10), the one matrix-corporal route that runs without a token: the
 * forgotten-password flow cannot be tied to a user, so `allowUnauthenticatedPasswordResets`
 * decides for everyone (and even then a password stage is refused: {@link hasLoginStage}). With a
 * token: unmanaged users may; `passthrough` users only with `allowCustomPassthroughUserPasswords`;
 * other managed users never (Corporal checks their passwords).
 */
export const accountPassword: PolicyCheck = Object.freeze({
  requiresToken: false,
  needsBody: 'json',
  check(input): Decision {
    const { snapshot, userId } = input;
    if (userId === null) {
      if (!snapshot.flags.allowUnauthenticatedPasswordResets) return DECISIONS.unauthenticatedPasswordReset;
      const body = jsonObject(input.body);
      if (body === null) return DECISIONS.notJson;
      return hasLoginStage(body) ? DECISIONS.loginStageWithoutToken : ALLOW;
    }
    const user = snapshot.users.get(userId);
    if (user === undefined) return ALLOW;
    if (user.authType !== 'passthrough') return DECISIONS.nonPassthroughPasswordChange;
    return snapshot.flags.allowCustomPassthroughUserPasswords ? ALLOW : DECISIONS.passthroughPasswordChange;
  },
} satisfies PolicyCheck);

/** `account.3pid.add|bind|unbind|delete` (Corporal): managed users may not when `forbid3pidChanges` is on. */
export const accountThreepid: PolicyCheck = authenticatedCheck('whole', (input, userId) =>
  input.snapshot.flags.forbid3pidChanges && input.snapshot.users.has(userId) ? DECISIONS.threepidChanges : ALLOW,
);

/**
 * `account_data.set` (Corporal): nobody may write or delete account data in Corporal's namespaces,
 * whoever they are. The reconciler trusts those records (the derived-password marker, the avatar's
 * source hash), so a user who wrote one could keep their own password or avatar once managed. The
 * type is the decoded one, as Synapse stores it; other types are the user's own business. No
 * policy changes the decision, so the body (account data can be large) streams.
 */
export const accountDataWrite: PolicyCheck = authenticatedCheck(false, (input) =>
  isCorporalAccountDataType(input.route.params['type'] ?? '') ? DECISIONS.corporalAccountData : ALLOW,
);

/** `login.get_token` (Corporal): an inactive managed user cannot mint a login token, as they cannot log in. */
export const loginGetToken: PolicyCheck = authenticatedCheck('whole', (input, userId) =>
  input.snapshot.users.get(userId)?.active === false ? DECISIONS.deactivatedInPolicy : ALLOW,
);

/**
 * `register` (Corporal): the user id being registered must not be a managed one, so that nobody
 * takes a managed account's id before the reconciler creates it. Synapse registers the body's
 * `username` on its own domain, lower-cased for ordinary registration and as given for appservice
 * registration (`type: m.login.application_service`); both are compared case-insensitively with
 * the policy's users, which refuses case variants of a managed id as well. A request without a
 * string `username` gets a generated id and is left alone; a body that is not a JSON object is
 * `M_BAD_JSON` (Synapse answers 400 to it anyway). No registration flow has a password stage, so
 * one is refused ({@link hasLoginStage}): Synapse would check it against any user it names.
 */
export const register: PolicyCheck = Object.freeze({
  requiresToken: false,
  needsBody: 'json',
  check(input): Decision {
    const body = jsonObject(input.body);
    if (body === null) return DECISIONS.notJson;
    if (hasLoginStage(body)) return DECISIONS.loginStageWithoutToken;
    const username = ownField(body, 'username');
    if (typeof username !== 'string') return ALLOW;
    const candidate = `@${username}:${input.serverName}`.toLowerCase();
    return input.snapshot.userIdsByLowercase.has(candidate) ? DECISIONS.reservedUserId : ALLOW;
  },
} satisfies PolicyCheck);
