import type { HookEventType } from '../../policy/snapshot.js';

/**
 * Which hook event types fire, in which order, per kind of request handler (matrix-corporal §7.2).
 * Frozen constants: the engine caches candidate lists by their identity, so always pass these.
 *
 * One deliberate change: matrix-corporal ran a policy-checked route's `beforeAnyRequest` before
 * resolving the access token, so those hooks saw no user there; Corporal resolves identity first,
 * so `matrixUserID` rules and the REST payload's `authenticatedMatrixUserId` see the user on every
 * route (its quirk 11).
 */
export interface HookPhases {
  /** Before-hook event types, run in this order before proxying. */
  readonly before: readonly HookEventType[];
  /** After-hook event types, scheduled in this order and run on the upstream response. */
  readonly after: readonly HookEventType[];
}

function phases(before: HookEventType[], after: HookEventType[]): HookPhases {
  return Object.freeze({ before: Object.freeze(before), after: Object.freeze(after) });
}

/** Catch-all (any route without its own handler), authenticated request. */
export const CATCH_ALL_AUTHENTICATED = phases(['beforeAnyRequest', 'beforeAuthenticatedRequest'], ['afterAnyRequest', 'afterAuthenticatedRequest']);

/** Catch-all, no (valid) access token: matrix-corporal proxies it anyway and lets Synapse refuse it. */
export const CATCH_ALL_UNAUTHENTICATED = phases(['beforeAnyRequest', 'beforeUnauthenticatedRequest'], ['afterAnyRequest', 'afterUnauthenticatedRequest']);

/** `POST …/login`: always unauthenticated; the `after*Authenticated*` types never fire here. */
export const LOGIN = phases(['beforeAnyRequest', 'beforeUnauthenticatedRequest'], ['afterAnyRequest', 'afterUnauthenticatedRequest']);

/** A policy-checked route with a resolved user: the policy check runs after the before-hooks. */
export const POLICY_CHECKED_AUTHENTICATED = phases(
  ['beforeAnyRequest', 'beforeAuthenticatedRequest', 'beforeAuthenticatedPolicyCheckedRequest'],
  ['afterAnyRequest', 'afterAuthenticatedRequest', 'afterAuthenticatedPolicyCheckedRequest'],
);

/**
 * A policy-checked route that allows no token (`POST …/account/password`, the forgotten-password
 * flow) called without one: only the `*AnyRequest` types fire, as in matrix-corporal (no
 * `*UnauthenticatedRequest` ones there).
 */
export const POLICY_CHECKED_UNAUTHENTICATED = phases(['beforeAnyRequest'], ['afterAnyRequest']);

/** How the gateway handles a request, as far as hooks care. */
export type HandlerKind = 'login' | 'policy-checked' | 'catch-all';

/**
 * The event types that fire for a request (reference §7.2): by handler kind and whether a user is
 * known. `authenticated` means the access token resolved to a user; an unknown, malformed or
 * unresolvable token counts as none (matrix-corporal's catch-all proxies such requests as
 * unauthenticated; its policy-checked handler refuses them after `beforeAnyRequest`). Login is
 * always unauthenticated.
 */
export function hookPhasesOf(kind: HandlerKind, authenticated: boolean): HookPhases {
  switch (kind) {
    case 'login':
      return LOGIN;
    case 'policy-checked':
      return authenticated ? POLICY_CHECKED_AUTHENTICATED : POLICY_CHECKED_UNAUTHENTICATED;
    case 'catch-all':
      return authenticated ? CATCH_ALL_AUTHENTICATED : CATCH_ALL_UNAUTHENTICATED;
  }
}
