import { isJsonObject, ownField, type JsonObject } from '../json-body.js';

/**
 * The user-interactive-auth stages Synapse checks with a stage checker of its own
 * (`INTERACTIVE_AUTH_CHECKERS`, handlers/ui_auth/checkers.py): none of them tests a password.
 */
const CHECKER_STAGES: ReadonlySet<string> = new Set([
  'm.login.dummy', 'm.login.terms', 'm.login.recaptcha', 'm.login.email.identity', 'm.login.msisdn', 'm.login.registration_token',
]);

/**
 * Whether `body` carries an `auth` stage that Synapse would check as a login: any `type` it has
 * no (enabled) stage checker for. Synapse registers only the checkers its configuration enables,
 * so an allowed type whose checker is off (`m.login.recaptcha` without reCAPTCHA) also goes to
 * `validate_login`, which refuses it unless a password module claims the type: harmless. Synapse's `check_ui_auth` tests whatever stage a client sends, in the
 * route's flows or not, and hands every type without a checker to `validate_login`
 * (`m.login.password`, and the login types of password modules), which checks the password of
 * whichever user the stage names and is not held back by `rc_login.failed_attempts`. On a route
 * that runs without an access token (registration, a forgotten-password reset) no flow contains
 * such a stage, so the only use of one is to test other users' passwords without limit (red team
 * 15, F2). An `auth` without `type` only asks for the flows, and passes.
 */
export function hasLoginStage(body: Readonly<JsonObject>): boolean {
  const auth = ownField(body, 'auth');
  if (!isJsonObject(auth) || !Object.hasOwn(auth, 'type')) return false;
  const type = auth['type'];
  return typeof type !== 'string' || !CHECKER_STAGES.has(type);
}
