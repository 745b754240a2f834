/**
 * The pure core of login interception: what the gateway does with one `POST …/login` body under
 * one policy snapshot. See docs/login.md for the table as implemented and how it differs from
 * matrix-corporal's (reference §6.3).
 */
import type { PolicySnapshot, SnapshotUser } from '../../policy/snapshot.js';
import { parseJsonObject, type JsonObject } from '../json-body.js';
import { failsGoLoginDecoding } from './go-login-fields.js';
import { identifyLoginUser } from './login-identifier.js';
import { findManagedUser, ownUserId } from '../identity/managed-user.js';
import { deniedLoginType, LOGIN_DENIALS, type LoginDenialName } from './login-answers.js';
import type { LocalAnswer } from './local-answer.js';

/**
 * Why a login is forwarded without a rewrite (Synapse authenticates it):
 * - `token-login`: `m.login.token` (SSO/CAS/SAML completion, `login/get_token`);
 * - `3pid-login`: a 3PID login while `allow3pidLogin` is on;
 * - `unmanaged`: a user on our domain that the policy does not list;
 * - `passthrough`: an active managed user whose password Synapse holds.
 *
 * Every forwarded login's successful answer must still go through {@link inspectLoginResponse}
 * (login-response.ts): the user Synapse actually logged in may be an inactive managed user.
 */
export type LoginProxyReason = 'token-login' | '3pid-login' | 'unmanaged' | 'passthrough';

/**
 * The verdict:
 * - `proxy`: forward the body unchanged, then inspect the answer;
 * - `deny`: answer `answer` locally (`denial` is its stable name, or `login-type` for step 3);
 * - `authenticate`: check `password` against `user`'s policy credential; on success forward
 *   `body` rewritten by `rewriteLoginBody` for `user.id`.
 */
export type LoginDecision =
  | { readonly kind: 'proxy'; readonly reason: LoginProxyReason }
  | { readonly kind: 'deny'; readonly denial: LoginDenialName | 'login-type'; readonly answer: LocalAnswer }
  | { readonly kind: 'authenticate'; readonly user: SnapshotUser; readonly password: string; readonly body: JsonObject };

const PROXY: Readonly<Record<LoginProxyReason, LoginDecision>> = Object.freeze({
  'token-login': Object.freeze({ kind: 'proxy', reason: 'token-login' }),
  '3pid-login': Object.freeze({ kind: 'proxy', reason: '3pid-login' }),
  unmanaged: Object.freeze({ kind: 'proxy', reason: 'unmanaged' }),
  passthrough: Object.freeze({ kind: 'proxy', reason: 'passthrough' }),
});

function deny(denial: LoginDenialName): LoginDecision {
  return { kind: 'deny', denial, answer: LOGIN_DENIALS[denial] };
}

/**
 * Decides on a login body (raw bytes, after before-hooks may have changed it), with `snapshot`
 * pinned for the request (null before the first policy) and `domain` =
 * `Matrix.HomeserverDomainName`. Rows, in order:
 *
 *  1. not a UTF-8 JSON object, or a member matrix-corporal decoded as a string (`type`,
 *     `password`, `user`, `identifier.user`, …) of another type → deny `bad-json`
 *  2. no policy → deny `missing-policy` (fail closed before anything is forwarded)
 *  3. `type` `m.login.token` → proxy `token-login`
 *  4. `type` other than `m.login.password` (JWT, appservice, module types, none) → deny `login-type`
 *  5. who (Synapse's precedence, login-identifier.ts): nothing readable → deny
 *     `cannot-interpret-user-id`; a 3PID → proxy `3pid-login` if `allow3pidLogin`, else deny
 *     `3pid-not-allowed`
 *  6. qualify a localpart to `@<localpart>:<domain>`; not on `domain` → deny `foreign-domain`
 *  7. not in the policy (compared case-insensitively, as Synapse looks up local users) → proxy `unmanaged`
 *  8. `active: false` → deny `deactivated`
 *  9. `passthrough` → proxy `passthrough`
 * 10. no `password` (or `null`) → deny `failed-authentication`
 * 11. otherwise → authenticate
 *
 * The domain comparison is case-insensitive too: Synapse's lookup lower-cases the whole MXID, so
 * `@alice:LOCALHOST` is `@alice:localhost` to it.
 */
export function decideLogin(body: Uint8Array | string, snapshot: PolicySnapshot | null, domain: string): LoginDecision {
  const parsed = parseJsonObject(body);
  if (parsed === null || failsGoLoginDecoding(parsed)) return deny('bad-json');
  const type = typeof parsed['type'] === 'string' ? parsed['type'] : '';
  if (snapshot === null) return deny('missing-policy');
  if (type === 'm.login.token') return PROXY['token-login'];
  if (type !== 'm.login.password') return { kind: 'deny', denial: 'login-type', answer: deniedLoginType(type) };

  const identity = identifyLoginUser(parsed);
  if (identity.kind === 'invalid') return deny('cannot-interpret-user-id');
  if (identity.kind === 'thirdparty') return snapshot.flags.allow3pidLogin ? PROXY['3pid-login'] : deny('3pid-not-allowed');

  const userId = ownUserId(identity.user, domain);
  if (userId === null) return deny('foreign-domain');
  const user = findManagedUser(snapshot, userId);
  if (user === undefined) return PROXY.unmanaged;
  if (!user.active) return deny('deactivated');
  if (user.authType === 'passthrough') return PROXY.passthrough;
  const password = parsed['password'];
  if (typeof password !== 'string') return deny('failed-authentication');
  return { kind: 'authenticate', user, password, body: parsed };
}

