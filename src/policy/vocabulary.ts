import type { AuthType, HookAction, HookEventType, MatchRuleType, PolicyFlags } from './snapshot.js';

export type { HookAction, MatchRuleType } from './snapshot.js';

/**
 * The closed vocabularies of the policy document: stable strings that appear identically in
 * policies, code, logs and fixtures. Frozen tables, safe at module scope.
 */

/** The eight auth types, in matrix-corporal's order. */
export const AUTH_TYPES: readonly AuthType[] = Object.freeze([
  'plain', 'passthrough', 'md5', 'sha1', 'sha256', 'sha512', 'bcrypt', 'rest',
]);

/** The eight hook event types. A type starting with `before` runs before proxying, `after` after. */
export const HOOK_EVENT_TYPES: readonly HookEventType[] = Object.freeze([
  'beforeAnyRequest',
  'beforeAuthenticatedRequest',
  'beforeAuthenticatedPolicyCheckedRequest',
  'beforeUnauthenticatedRequest',
  'afterAnyRequest',
  'afterAuthenticatedRequest',
  'afterAuthenticatedPolicyCheckedRequest',
  'afterUnauthenticatedRequest',
]);

/** The six hook actions, as a list. */
export const HOOK_ACTIONS: readonly HookAction[] = Object.freeze([
  'pass.unmodified', 'pass.modifiedRequest', 'pass.modifiedResponse', 'reject', 'respond', 'consult.RESTServiceURL',
]);

/** The three match rule types, as a list. */
export const MATCH_RULE_TYPES: readonly MatchRuleType[] = Object.freeze(['method', 'route', 'matrixUserID']);

/** The global flags: matrix-corporal's eight in its order, then Corporal's own (`forbid3pidChanges`). */
export const FLAG_NAMES: readonly (keyof PolicyFlags)[] = Object.freeze([
  'allowCustomUserDisplayNames',
  'allowCustomUserAvatars',
  'allowCustomPassthroughUserPasswords',
  'allowUnauthenticatedPasswordResets',
  'forbidRoomCreation',
  'forbidEncryptedRoomCreation',
  'forbidUnencryptedRoomCreation',
  'allow3pidLogin',
  'forbid3pidChanges',
]);

/** True for the `before*` event types (matrix-corporal: the name starts with `before`). */
export function isBeforeEventType(eventType: string): boolean {
  return eventType.startsWith('before');
}

/** Membership test over one of the tables above, narrowing the type. */
export function isOneOf<T extends string>(table: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (table as readonly string[]).includes(value);
}

/**
 * Request headers (lower case) a hook cannot set; `injectHeadersIntoRequest` entries for them, and
 * a REST service's, are ignored (the policy validator warns). The gateway owns the framing
 * (`Content-Length`, `Transfer-Encoding`) of what it sends upstream; `Host` stays the client's
 * (Go's `Header.Set("Host")` is ignored on requests too); and `Authorization` names the user the
 * gateway resolved, whose request the policy check and the hooks decided on: another token set
 * after them would make Synapse act for a user nobody checked (red team 15, F4; matrix-corporal
 * let hooks set it).
 */
export const GATEWAY_OWNED_REQUEST_HEADERS: ReadonlySet<string> = new Set(['host', 'content-length', 'transfer-encoding', 'authorization']);
