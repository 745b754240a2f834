/**
 * The body forwarded to Synapse for a managed user whose password Corporal has verified.
 */
import type { JsonObject } from '../json-body.js';
import { copyObjectWithout } from './json-values.js';
import { LEGACY_IDENTIFIER_FIELDS } from './login-identifier.js';

/**
 * Returns `body` re-encoded as a password login of exactly `userId` with `password` (the derived
 * password, `derivedPassword(AuthSharedSecret, userId)`):
 * - every other field is kept (`device_id`, `initial_device_display_name`, `refresh_token`, …;
 *   matrix-corporal dropped them, so managed users never got refresh tokens);
 * - top-level `user`, `medium` and `address` are removed: Synapse prefers them to `identifier`,
 *   so leaving any of them would let it log in someone other than `userId`;
 * - `identifier` becomes `{"type":"m.id.user","user":userId}` with the policy's exact MXID (the
 *   shared-secret module's lookup is case-sensitive, and its HMAC is over this exact string);
 * - `type` becomes `m.login.password`.
 *
 * The caller sends the result with a recomputed Content-Length.
 */
export function rewriteLoginBody(body: JsonObject, userId: string, password: string): Buffer {
  const rewritten = copyObjectWithout(body, LEGACY_IDENTIFIER_FIELDS);
  rewritten['type'] = 'm.login.password';
  rewritten['identifier'] = { type: 'm.id.user', user: userId };
  rewritten['password'] = password;
  return Buffer.from(JSON.stringify(rewritten), 'utf8');
}
