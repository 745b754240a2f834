/**
 * Who a `POST /login` body names, decided exactly as Synapse decides it
 * (`convert_client_dict_legacy_fields_to_identifier` then `validate_login`, synapse/handlers/auth.py).
 *
 * Security: the gateway authorises the user it reads here, and Synapse logs in the user *it*
 * reads. matrix-corporal read `identifier.user` first, so `{"identifier":{"user":"bob"},
 * "user":"alice"}` was checked as bob and logged in as alice. Every precedence rule and every
 * truthiness test below is Synapse's, so the two readings cannot differ.
 */
import { isJsonObject, type JsonObject } from '../json-body.js';
import { isPythonTruthy } from './json-values.js';

/**
 * What the body identifies:
 * - `user`: an `m.id.user` identifier; `user` is the raw, non-empty value (a localpart or a full MXID).
 * - `thirdparty`: a 3PID login (`m.id.thirdparty`, `m.id.phone`, or top-level `medium` + `address`).
 * - `invalid`: nothing Synapse would accept (it answers 400 or fails), so nobody is logged in.
 */
export type LoginIdentity =
  | { readonly kind: 'user'; readonly user: string }
  | { readonly kind: 'thirdparty' }
  | { readonly kind: 'invalid' };

/**
 * Fields of a login body or UIA auth stage that Synapse prefers to `identifier`: a body forwarded
 * for a specific user must not carry them.
 */
export const LEGACY_IDENTIFIER_FIELDS: ReadonlySet<string> = new Set(['user', 'medium', 'address']);

const THIRDPARTY: LoginIdentity = Object.freeze({ kind: 'thirdparty' });
const INVALID: LoginIdentity = Object.freeze({ kind: 'invalid' });

/**
 * Synapse's precedence: top-level `medium` and `address` (both truthy) beat a truthy top-level
 * `user`, which beats `identifier`. Truthiness is Python's (`[]` and `{}` are false). The
 * identifier must then be an object with a `type`; `m.id.phone` and `m.id.thirdparty` are 3PID
 * logins; any other type but `m.id.user` is refused by Synapse; the user must be a non-empty
 * string (Synapse crashes with a 500 on a non-string, so that is `invalid` too).
 */
export function identifyLoginUser(body: JsonObject): LoginIdentity {
  if (isPythonTruthy(body['medium']) && isPythonTruthy(body['address'])) return THIRDPARTY;
  const identifier: unknown = isPythonTruthy(body['user'])
    ? { type: 'm.id.user', user: body['user'] }
    : Object.hasOwn(body, 'identifier') ? body['identifier'] : {};
  if (!isPythonTruthy(identifier) || !isJsonObject(identifier) || !Object.hasOwn(identifier, 'type')) return INVALID;
  const type = identifier['type'];
  if (type === 'm.id.phone' || type === 'm.id.thirdparty') return THIRDPARTY;
  if (type !== 'm.id.user') return INVALID;
  const user = identifier['user'];
  if (typeof user !== 'string' || user === '') return INVALID;
  return { kind: 'user', user };
}
