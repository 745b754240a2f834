/**
 * The answers of login interception. Statuses, errcodes and messages are matrix-corporal's
 * (reference §6.3), byte for byte: clients and monitoring may match on them.
 */
import { ErrCode } from '../../common/matrix-errors.js';
import { CASE_VARIANT_MESSAGE } from '../checks/decision.js';
import { localAnswer, type LocalAnswer } from './local-answer.js';

/** Every fixed denial of login interception, by stable name (the names appear in logs and fixtures). */
export const LOGIN_DENIALS = Object.freeze({
  /** The body is not a UTF-8 JSON object (or `type` is not a string). */
  'bad-json': localAnswer(403, ErrCode.BadJson, 'Bad input'),
  /** No policy yet (the pipeline normally answers 503 before login interception runs). */
  'missing-policy': localAnswer(403, ErrCode.Unknown, 'Missing policy'),
  /** A 3PID login while `allow3pidLogin` is off. */
  '3pid-not-allowed': localAnswer(403, ErrCode.Unknown, '3pid login requests are not allowed on this server'),
  /** No user can be read from the body. */
  'cannot-interpret-user-id': localAnswer(403, ErrCode.Forbidden, 'Cannot interpret user id'),
  /** The user is not on the homeserver's domain. */
  'foreign-domain': localAnswer(403, ErrCode.Forbidden, 'Rejecting non-own domains'),
  /** A managed user with `active: false`. */
  deactivated: localAnswer(403, ErrCode.UserDeactivated, 'Deactivated in policy'),
  /** The password could not be checked (bad credential in the policy, auth service down, …). */
  'authenticator-error': localAnswer(403, ErrCode.Unknown, 'Internal authenticator error'),
  /** Wrong password (or none). */
  'failed-authentication': localAnswer(403, ErrCode.Forbidden, 'Failed authentication'),
  /**
   * Corporal: Synapse logged in an account whose id differs only in case from a policy user's
   * (the gateway refuses every request of such an account: identity/inactive-in-policy.ts).
   */
  'case-variant': localAnswer(403, ErrCode.Forbidden, CASE_VARIANT_MESSAGE),
  /**
   * Corporal: a login form the router polices but Synapse does not serve (`isServedLoginPath`, served-login-paths.ts),
   * answered as Synapse answers it, before any password check.
   */
  'unserved-path': localAnswer(404, ErrCode.Unrecognized, 'Unrecognized request'),
});

/** Name of a fixed login denial. */
export type LoginDenialName = keyof typeof LOGIN_DENIALS;

/** `type` is a string other than `m.login.password` and `m.login.token`: matrix-corporal's step 3. */
export function deniedLoginType(type: string): LocalAnswer {
  return localAnswer(403, ErrCode.Forbidden, `Denying login type: ${type}`);
}
