/**
 * The internal REST auth endpoint's pure part (reference §6.8):
 * `POST /_matrix/corporal/_matrix-internal/identity/v1/check_credentials`, called by Synapse's REST
 * password-provider module (kamax/ma1uta protocol) to check a managed user's password.
 */
import { ErrCode } from '../../common/matrix-errors.js';
import type { PolicySnapshot, SnapshotUser } from '../../policy/snapshot.js';
import { isJsonObject, parseJsonObject } from '../json-body.js';
import { findManagedUser, ownUserId } from '../identity/managed-user.js';
import { localAnswer, type LocalAnswer } from '../login/local-answer.js';

/** matrix-corporal's error answers of the endpoint, by stable name. */
export const INTERNAL_AUTH_ERRORS = Object.freeze({
  disabled: localAnswer(403, ErrCode.Forbidden, 'Internal REST auth is not enabled'),
  'bad-source-ip': localAnswer(403, ErrCode.Forbidden, 'Refusing to authenticate this HTTP request (bad source IP)'),
  'bad-json': localAnswer(400, ErrCode.BadJson, 'Bad request payload'),
  'missing-policy': localAnswer(500, ErrCode.Unknown, 'Missing policy'),
  'authenticator-error': localAnswer(500, ErrCode.Unknown, 'Internal authenticator error'),
});

/** The 200 answer for every "no": wrong password, unknown, foreign, inactive or passthrough user. */
export const CREDENTIALS_REJECTED_JSON = '{"auth":{"success":false}}';

/** The 200 answer for a right password: the user's exact policy MXID and policy display name. */
export function credentialsAcceptedJson(user: SnapshotUser): string {
  return JSON.stringify({ auth: { success: true, mxid: user.id, profile: { display_name: user.displayName } } });
}

/**
 * - `error`: answer the Matrix error `answer` (`reason` is its stable name);
 * - `rejected`: answer 200 {@link CREDENTIALS_REJECTED_JSON} (`reason` says why, for logs);
 * - `authenticate`: check `password` for `user`; 200 accepted or rejected by the outcome.
 */
export type CheckCredentialsDecision =
  | { readonly kind: 'error'; readonly reason: keyof typeof INTERNAL_AUTH_ERRORS; readonly answer: LocalAnswer }
  | { readonly kind: 'rejected'; readonly reason: 'no-user-id' | 'foreign-domain' | 'unmanaged' | 'inactive' | 'passthrough' }
  | { readonly kind: 'authenticate'; readonly user: SnapshotUser; readonly password: string };

/**
 * Decides on the body `{"user":{"id":"…","password":"…"}}` (after the enabled and source-address
 * checks, which come first). Rows, in order: not a JSON object, or `user`/`id`/`password` of the
 * wrong JSON type (matrix-corporal's typed decode fails on those) → 400 `bad-json`; no policy → 500
 * `missing-policy`; an empty id → rejected; the id qualified like a login's (a localpart becomes
 * `@<localpart>:<domain>`) not on `domain` → rejected; not managed (compared case-insensitively, as
 * at login) → rejected; inactive → rejected; passthrough (Synapse checks those itself) →
 * rejected; otherwise authenticate. A missing `password` is `""`, which never authenticates.
 */
export function decideCheckCredentials(body: Uint8Array, snapshot: PolicySnapshot | null, domain: string): CheckCredentialsDecision {
  const parsed = parseJsonObject(body);
  const user = parsed === null ? undefined : parsed['user'] ?? {};
  if (!isJsonObject(user)) return error('bad-json');
  const id = user['id'] ?? '';
  const password = user['password'] ?? '';
  if (typeof id !== 'string' || typeof password !== 'string') return error('bad-json');
  if (snapshot === null) return error('missing-policy');
  if (id === '') return { kind: 'rejected', reason: 'no-user-id' };
  const userId = ownUserId(id, domain);
  if (userId === null) return { kind: 'rejected', reason: 'foreign-domain' };
  const managed = findManagedUser(snapshot, userId);
  if (managed === undefined) return { kind: 'rejected', reason: 'unmanaged' };
  if (!managed.active) return { kind: 'rejected', reason: 'inactive' };
  if (managed.authType === 'passthrough') return { kind: 'rejected', reason: 'passthrough' };
  return { kind: 'authenticate', user: managed, password };
}

function error(reason: keyof typeof INTERNAL_AUTH_ERRORS): CheckCredentialsDecision {
  return { kind: 'error', reason, answer: INTERNAL_AUTH_ERRORS[reason] };
}
