/**
 * User-interactive auth (UIA) without Synapse password modules: the pure part.
 *
 * A managed non-passthrough user's Synapse password is the derived password, which the user never
 * knows. When Synapse asks them to confirm a sensitive action with `m.login.password`, they type
 * their *policy* password. matrix-corporal relied on a Synapse module calling back into its
 * internal REST auth endpoint; Corporal instead checks the typed password itself on the routes
 * below and forwards the derived password, so stock Synapse accepts it.
 *
 * Every other requester's password stage is pinned to the requester ({@link pinUiaStage}): Synapse
 * checks the password of whichever user a stage names and only then compares that user with the
 * requester (403 "Invalid auth" for a right password, 401 for a wrong one), so any session could
 * otherwise test other users' Synapse passwords (quality review 17b).
 */
import type { RouteId } from '../router/route-ids.js';
import type { PolicySnapshot, SnapshotUser } from '../../policy/snapshot.js';
import { isJsonObject, parseJsonObject, type JsonObject } from '../json-body.js';
import { copyObjectWithout } from '../login/json-values.js';
import { findManagedUser } from '../identity/managed-user.js';
import { LEGACY_IDENTIFIER_FIELDS } from '../login/login-identifier.js';
import { hasLoginStage } from '../checks/uia-stages.js';

/**
 * The routes whose Synapse handlers run UIA (`validate_user_via_ui_auth`) for the requester and
 * accept `m.login.password` as a stage.
 */
export const UIA_ROUTE_IDS: ReadonlySet<RouteId> = new Set<RouteId>([
  'devices.delete',
  'devices.delete_many',
  'keys.device_signing.upload',
  'account.password',
  'account.deactivate',
  'account.3pid.add',
  'account.3pid.delete',
  'login.get_token',
]);

/**
 * - `untouched`: forward the request as it is (not a UIA route, no requester, an unmanaged or
 *   passthrough requester, or no `m.login.password` stage with a string password in the body);
 * - `verify`: check `password` against `user`'s policy credential, then rewrite `body`;
 * - `spoil`: the requester is an inactive managed user; forward a password that cannot match
 *   (inactive users are never vouched for).
 */
export type UiaDecision =
  | { readonly kind: 'untouched' }
  | { readonly kind: 'verify'; readonly user: SnapshotUser; readonly password: string; readonly body: JsonObject }
  | { readonly kind: 'spoil'; readonly user: SnapshotUser; readonly body: JsonObject };

const UNTOUCHED: UiaDecision = Object.freeze({ kind: 'untouched' });

/**
 * The managed non-passthrough user behind `requesterId` on a UIA route, whose password stage
 * Corporal verifies itself; undefined for every other requester (whose stage is only pinned, see
 * {@link pinUiaStage}) and off the UIA routes. `requesterId` is the resolved identity of the
 * access token (appservice masquerading included).
 */
export function uiaSubject(routeId: RouteId, requesterId: string | null, snapshot: PolicySnapshot | null): SnapshotUser | undefined {
  if (requesterId === null || snapshot === null || !UIA_ROUTE_IDS.has(routeId)) return undefined;
  const user = findManagedUser(snapshot, requesterId);
  return user === undefined || user.authType === 'passthrough' ? undefined : user;
}

/**
 * Decides on the body of a request whose {@link uiaSubject} is `user`. A body Synapse cannot
 * read (not a UTF-8 JSON object), or whose `auth` is not an `m.login.password` stage with a string
 * `password`, is left alone: Synapse answers it with its own 400 or 401, and no password of ours
 * is involved.
 */
export function decideUia(user: SnapshotUser, body: Uint8Array): UiaDecision {
  const parsed = parseJsonObject(body);
  if (parsed === null) return UNTOUCHED;
  const auth = parsed['auth'];
  if (!isJsonObject(auth) || auth['type'] !== 'm.login.password') return UNTOUCHED;
  const password = auth['password'];
  if (typeof password !== 'string') return UNTOUCHED;
  if (!user.active) return { kind: 'spoil', user, body: parsed };
  return { kind: 'verify', user, password, body: parsed };
}

/**
 * `body` with its `auth` stage rewritten to re-authenticate `requesterId` (with `password`, when
 * given; else with whatever the stage carries): `auth.identifier` becomes
 * `{"type":"m.id.user","user":requesterId}` and `auth.user`, `auth.medium`, `auth.address` are
 * removed (Synapse prefers those legacy fields to `identifier`, as at login). Every other field, in
 * `auth` and outside it (`session`, `new_password`, …), is kept.
 */
export function rewriteUiaBody(body: JsonObject, requesterId: string, password?: string): Buffer {
  const auth = body['auth'] as JsonObject;
  const rewrittenAuth = copyObjectWithout(auth, LEGACY_IDENTIFIER_FIELDS);
  rewrittenAuth['identifier'] = { type: 'm.id.user', user: requesterId };
  if (password !== undefined) rewrittenAuth['password'] = password;
  return Buffer.from(JSON.stringify({ ...body, auth: rewrittenAuth }), 'utf8');
}

/** The fields by which a stage names its user (`identifier`, and the legacy ones Synapse prefers to it). */
const NAMING_FIELDS: readonly string[] = ['identifier', ...LEGACY_IDENTIFIER_FIELDS];

/**
 * `body` with its login-like stage pinned to `requesterId`, or null when it has none (forward it as
 * it is). A login-like stage is one Synapse checks as a login (`hasLoginStage`: `m.login.password`,
 * or a password module's type): it tests the credentials of whichever user the stage names and
 * only then compares that user with the requester (403 "Invalid auth" for right credentials, 401
 * for wrong ones), so without the pin any session could test other users' passwords. The
 * identifier is rewritten as {@link rewriteUiaBody} does, the credentials kept; a stage that named
 * the requester (by id, localpart or 3PID) means the same after it. A stage that names nobody
 * (an SSO stage's `{type, session}`) tests nobody's password and is left as it is.
 */
export function pinUiaStage(body: Uint8Array, requesterId: string): Buffer | null {
  const parsed = parseJsonObject(body);
  if (parsed === null || !hasLoginStage(parsed)) return null;
  const auth = parsed['auth'] as JsonObject;
  if (typeof auth['type'] !== 'string' || !NAMING_FIELDS.some((field) => Object.hasOwn(auth, field))) return null;
  return rewriteUiaBody(parsed, requesterId);
}
