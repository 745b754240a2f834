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
   * Corporal: a login form the router polices but Synapse does not serve ({@link isServedLoginPath}),
   * answered as Synapse answers it, before any password check.
   */
  'unserved-path': localAnswer(404, ErrCode.Unrecognized, 'Unrecognized request'),
});

/** The paths of Synapse 1.163.2's `LoginRestServlet`: `^/_matrix/client/(api/v1|r0|v3|unstable)/login$`. */
const SERVED_LOGIN_PATHS: ReadonlySet<string> = new Set(
  ['api/v1', 'r0', 'v3', 'unstable'].map((prefix) => `/_matrix/client/${prefix}/login`),
);

/**
 * Whether Synapse executes a login at `rawPath` (a request the router routed `login`). The router
 * also routes `login` under `v1`, any `unstable/<vendor>` and with a trailing slash, so that a
 * later Synapse serving one of them cannot skip login interception; but Synapse 1.163.2 answers
 * them 404 without running its login, so its failed-login rate limit never counts them. Checking
 * the password there made them an unlimited oracle for policy passwords (router parity review,
 * F1): they are answered 404 before the body is read.
 */
export function isServedLoginPath(rawPath: string): boolean {
  return SERVED_LOGIN_PATHS.has(rawPath);
}

/** Name of a fixed login denial. */
export type LoginDenialName = keyof typeof LOGIN_DENIALS;

/** `type` is a string other than `m.login.password` and `m.login.token`: matrix-corporal's step 3. */
export function deniedLoginType(type: string): LocalAnswer {
  return localAnswer(403, ErrCode.Forbidden, `Denying login type: ${type}`);
}
