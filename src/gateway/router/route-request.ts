import type { RouteId } from './route-ids.js';
import type { RouteFamilies, RouteHit } from './route-spec.js';
import { matchRoute } from './route-spec.js';
import { CLIENT_ROUTES, CLIENT_ROUTE_SPECS } from './client-routes.js';
import { MEDIA_ROUTES } from './media-routes.js';
import { cleanPath, isCanonicalPath } from './canonical-path.js';

/** What Synapse would execute for a request: the action, its decoded path params and the prefix. */
export interface RouteMatch {
  readonly id: RouteId;
  /** Path params, percent-decoded exactly as Synapse decodes them (Python `unquote`). */
  readonly params: Readonly<Record<string, string>>;
  /**
   * The prefix the route was found under: `v3`, `r0`, `api/v1`, `v1`, `unstable`,
   * `unstable/<vendor>` (e.g. `unstable/org.matrix.msc3882`, or `unstable/org/matrix/msc3391` for
   * a dotted vendor written with slashes: see {@link DOTTED_VENDORS}), `media/<version>` for the
   * legacy media tree, or `''` outside both trees. Always the path's own raw text, as sent: callers
   * find the action after it by its length (checks/pinned-join.ts).
   */
  readonly prefix: string;
}

/** The router's verdict on one request. */
export type RouteDecision =
  /** Path and query longer than {@link MAX_REQUEST_TARGET_LENGTH}: 414 M_TOO_LARGE. */
  | { readonly kind: 'target-too-long' }
  /** Non-canonical path: answer 301 with this `Location` (the cleaned path plus the raw query). */
  | { readonly kind: 'redirect'; readonly location: string }
  /** `/_matrix/client/<r|v><digits>/…` other than r0, v1, v3: 403 M_FORBIDDEN "API version not supported by gateway". */
  | { readonly kind: 'unsupported-version' }
  /**
   * Any CONNECT request that reaches the router (uWebSockets.js answers none whose target is not
   * a path, such as `CONNECT host:443`): 405 M_UNRECOGNIZED, locally, never proxied. Synapse
   * serves no CONNECT, and undici (the proxy's client) takes any answer to one for a tunnel it
   * hands over, so a proxied CONNECT would wait for the exchange cap and be answered a false 504.
   */
  | { readonly kind: 'connect' }
  /** Any OPTIONS request: answered locally with the CORS headers, never proxied. */
  | { readonly kind: 'options' }
  /** GET /_matrix/client/corporal: the health/info answer. */
  | { readonly kind: 'info' }
  /** POST /_matrix/corporal/_matrix-internal/identity/v1/check_credentials: internal REST auth. */
  | { readonly kind: 'internal-rest-auth' }
  /** Everything else: a recognised route or the catch-all `other`. */
  | { readonly kind: 'route'; readonly match: RouteMatch };

/**
 * The longest request target (raw path, `?` and raw query, in UTF-16 code units as uWS decodes it;
 * a client percent-encodes, so one per byte) the gateway routes. Synapse's HTTP
 * server (Twisted) refuses a request whose request line and headers together exceed 16,384 bytes,
 * so a longer target can never succeed there; refusing it first also bounds the work that routing,
 * hook matching and logging do for hostile input (a hook pattern left on the backtracking regular
 * expression engine may take time quadratic in the path's length: docs/policy.md).
 */
export const MAX_REQUEST_TARGET_LENGTH = 16_384;

/** The route id (logs, access log) of a request refused for its target's length. */
export const TARGET_TOO_LONG_ROUTE_ID = 'target-too-long';

/**
 * The route id of every request the gateway answers itself, before any route of Synapse's: the
 * kind of the router's decision (`options`, `info`, `redirect`, …). The record names each kind,
 * so the compiler refuses a new kind left out (the request metrics count by this list).
 */
export type LocalRouteId = Exclude<RouteDecision, { kind: 'route' }>['kind'];
const LOCAL_KINDS: Readonly<Record<LocalRouteId, true>> = {
  'target-too-long': true, redirect: true, 'unsupported-version': true, connect: true, options: true, info: true, 'internal-rest-auth': true,
};
/** Every {@link LocalRouteId}. */
export const LOCAL_ROUTE_IDS: readonly LocalRouteId[] = Object.freeze(Object.keys(LOCAL_KINDS) as LocalRouteId[]);

/** The route id of a request until it is routed (one that ends before, a client that leaves early). */
export const UNROUTED_ROUTE_ID = 'unrouted';

/** matrix-corporal's health/info path. */
export const INFO_PATH = '/_matrix/client/corporal';
/** matrix-corporal's internal REST auth endpoint (for the REST password-provider module). */
export const INTERNAL_REST_AUTH_PATH = '/_matrix/corporal/_matrix-internal/identity/v1/check_credentials';

/** Where the client-server API's paths start. */
export const CLIENT_ROOT = '/_matrix/client/';
/** Where the legacy media repository's paths start. */
export const MEDIA_ROOT = '/_matrix/media/';
/** matrix-corporal's version guard: these versions pass, any other `r<digits>`/`v<digits>` is refused. */
const SUPPORTED_VERSIONS: ReadonlySet<string> = new Set(['r0', 'v1', 'v3']);
const VERSION_SEGMENT = /^[rv][0-9]+$/;
/**
 * Segments that are never a vendor segment right after `unstable/`: the first segments of our
 * routes, and every first segment Synapse 1.163.2 serves directly under `unstable/` (from its
 * route tables). Without the latter, `unstable/pushrules/rooms/…/state/…` — a push-rule path to
 * Synapse — would be read as vendor `pushrules` in front of a state route.
 */
const NOT_VENDOR_SEGMENTS: ReadonlySet<string> = new Set([
  ...CLIENT_ROUTE_SPECS.map((spec) => spec.template.split('/')[0] ?? ''),
  'media',
  ...['account', 'account_validity', 'add_threepid', 'admin', 'appservice', 'auth', 'auth_metadata', 'capabilities'],
  ...['createRoom', 'delete_devices', 'devices', 'directory', 'events', 'initialSync', 'join', 'joined_rooms', 'keys'],
  ...['knock', 'login', 'logout', 'mutual_rooms', 'notifications', 'password_policy', 'presence', 'profile'],
  ...['publicRooms', 'pushers', 'pushrules', 'refresh', 'register', 'registration', 'room_keys', 'rooms', 'search'],
  ...['sendToDevice', 'sync', 'thirdparty', 'tokenrefresh', 'user', 'user_directory', 'voip'],
]);

/**
 * Whether the segments after `unstable/` start with a vendor segment (`org.matrix.msc3575/sync`)
 * rather than a route of Synapse's own (`pushrules/…`): a first segment that is not one of
 * {@link NOT_VENDOR_SEGMENTS}, with more after it.
 */
export function startsWithVendor(segments: readonly string[]): boolean {
  return segments.length > 1 && !NOT_VENDOR_SEGMENTS.has(segments[0] ?? '');
}

const TARGET_TOO_LONG: RouteDecision = Object.freeze({ kind: 'target-too-long' });
const CONNECT: RouteDecision = Object.freeze({ kind: 'connect' });
const OPTIONS: RouteDecision = Object.freeze({ kind: 'options' });
const INFO: RouteDecision = Object.freeze({ kind: 'info' });
const INTERNAL_REST_AUTH: RouteDecision = Object.freeze({ kind: 'internal-rest-auth' });
const UNSUPPORTED_VERSION: RouteDecision = Object.freeze({ kind: 'unsupported-version' });
const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});
const OTHER_BY_PREFIX: ReadonlyMap<string, RouteDecision> = new Map(
  ['', 'r0', 'v1', 'v3', 'unstable', 'api/v1'].map((prefix) => [
    prefix,
    Object.freeze({ kind: 'route', match: Object.freeze({ id: 'other', params: NO_PARAMS, prefix }) }),
  ]),
);

/**
 * Decides what the gateway does with a request, and for proxied requests which Synapse action
 * (route id) it is. Pure and synchronous; called once per request.
 *
 * - `method` as the client sent it; compared case-insensitively (a lower-case write method is
 *   policed like the upper-case one), HEAD is matched as GET, as Synapse does.
 * - `rawPath` is the undecoded path exactly as it will be forwarded to Synapse (no query); the
 *   router matches the raw bytes like Synapse's regexes do and decodes only the params.
 * - `rawQuery` is the undecoded query string without `?` (`''` if none); it only ends up in a
 *   redirect's `Location`.
 *
 * Order: target length, CONNECT, OPTIONS, non-canonical path (redirect), internal REST auth, client tree
 * (info, version guard, routes), media tree, catch-all. See docs/routing.md.
 */
export function routeRequest(method: string, rawPath: string, rawQuery: string): RouteDecision {
  const targetLength = rawPath.length + (rawQuery === '' ? 0 : rawQuery.length + 1);
  if (targetLength > MAX_REQUEST_TARGET_LENGTH) return TARGET_TOO_LONG;
  const normalisedMethod = normaliseMethod(method);
  if (normalisedMethod === 'CONNECT') return CONNECT;
  if (normalisedMethod === 'OPTIONS') return OPTIONS;
  if (!isCanonicalPath(rawPath)) {
    return { kind: 'redirect', location: rawQuery === '' ? cleanPath(rawPath) : `${cleanPath(rawPath)}?${rawQuery}` };
  }
  if (rawPath.startsWith(CLIENT_ROOT)) return routeClientTree(normalisedMethod, rawPath.slice(CLIENT_ROOT.length));
  if (rawPath === INTERNAL_REST_AUTH_PATH && normalisedMethod === 'POST') return INTERNAL_REST_AUTH;
  if (rawPath.startsWith(MEDIA_ROOT)) return routeMediaTree(normalisedMethod, rawPath.slice(MEDIA_ROOT.length));
  return otherDecision('');
}

/** `rest` is the path after `/_matrix/client/`. */
function routeClientTree(method: string, rest: string): RouteDecision {
  const slash = rest.indexOf('/');
  const first = slash === -1 ? rest : rest.slice(0, slash);
  let prefix: string;
  let remainder: string;
  if (first === 'r0' || first === 'v1' || first === 'v3' || first === 'unstable') {
    prefix = first;
    remainder = slash === -1 ? '' : rest.slice(slash + 1);
  } else if (first === 'api' && (rest === 'api/v1' || rest.startsWith('api/v1/'))) {
    prefix = 'api/v1';
    remainder = rest.slice('api/v1/'.length);
  } else if (VERSION_SEGMENT.test(first) && !SUPPORTED_VERSIONS.has(first)) {
    // matrix-corporal's guard against new API versions whose routes it does not know (e.g. v4).
    return UNSUPPORTED_VERSION;
  } else if (first === 'corporal' && slash === -1) {
    return method === 'GET' ? INFO : otherDecision('');
  } else {
    return otherDecision('');
  }

  const segments = remainder.split('/');
  if (prefix === 'unstable' && startsWithVendor(segments)) {
    return routeUnderVendor(method, segments);
  }
  return routeSegments(method, segments, prefix);
}

/**
 * The vendor prefixes Synapse 1.163.2 compiled with unescaped dots (from its route tables; a test
 * checks this list against them). A dot matches any character, `/` included, so
 * `DELETE unstable/org/matrix/msc3391/user/…/account_data/…` runs MSC3391's servlet (red team 5, F1:
 * read as vendor `org` it was `other`, and the account-data check was skipped).
 */
export const DOTTED_VENDORS: readonly string[] = Object.freeze([
  'im.nheko.summary', 'io.element.msc4306', 'io.element.msc4308', 'io.element.msc4388', 'org.matrix.msc1763',
  'org.matrix.msc2965', 'org.matrix.msc3391', 'org.matrix.msc3720', 'org.matrix.msc3814.v1', 'org.matrix.msc3882',
  'org.matrix.msc3983', 'org.matrix.msc4108', 'org.matrix.simplified_msc3575',
]);

/**
 * A regular-expression source for `text` as Synapse's unescaped patterns read it: each `.` is
 * Python's any character but a newline (a `/` included); `text` has no other special character.
 */
export function pythonDots(text: string): string {
  return text.replace(/\./g, '[^\\n]');
}

/** {@link DOTTED_VENDORS} as Python reads them, followed by `/`: letters literal, each dot any character. */
const DOTTED_VENDOR_PREFIX = new RegExp(`^(?:${DOTTED_VENDORS.map(pythonDots).join('|')})(?=/)`);

/**
 * `segments` follow `unstable/` and start with a vendor: Synapse serves some routes only under a
 * vendor prefix (org.matrix.msc3882/login/token, org.matrix.simplified_msc3575/sync,
 * uk.tcpip.msc4133/profile/…). Any vendor segment is accepted in front of any known family: an
 * unknown one is a 404 at Synapse, and a new vendor alias of a policed route is policed without a
 * code change. A dotted vendor written with slashes ({@link DOTTED_VENDORS}) spans several
 * segments; when what follows it matches no route, the one-segment reading applies (policing a
 * path Synapse 404s is harmless).
 */
function routeUnderVendor(method: string, segments: readonly string[]): RouteDecision {
  const joined = segments.join('/');
  const dotted = DOTTED_VENDOR_PREFIX.exec(joined)?.[0];
  if (dotted !== undefined && dotted.includes('/')) {
    const decision = routeSegments(method, joined.slice(dotted.length + 1).split('/'), `unstable/${dotted}`);
    if (decision.kind !== 'route' || decision.match.id !== 'other') return decision;
  }
  return routeSegments(method, segments.slice(1), `unstable/${segments[0] ?? ''}`);
}

/** Matches the segments after a prefix against the client routes (or the media routes under `media/`). */
function routeSegments(method: string, segments: readonly string[], prefix: string): RouteDecision {
  if (segments[0] === 'media') {
    return mediaDecision(segments.slice(1), method, prefix);
  }
  const hit = matchTolerantOfTrailingSlash(CLIENT_ROUTES, segments, method);
  return hit === null ? otherDecision(prefix) : routeDecision(hit.id, hit.params, prefix);
}

/** `rest` is the path after `/_matrix/media/`. */
function routeMediaTree(method: string, rest: string): RouteDecision {
  const slash = rest.indexOf('/');
  const prefix = `media/${slash === -1 ? rest : rest.slice(0, slash)}`;
  const segments = slash === -1 ? [] : rest.slice(slash + 1).split('/');
  return mediaDecision(segments, method, prefix);
}

function mediaDecision(segments: readonly string[], method: string, prefix: string): RouteDecision {
  const hit = matchTolerantOfTrailingSlash(MEDIA_ROUTES, segments, method);
  return hit === null ? routeDecision('media.other', NO_PARAMS, prefix) : routeDecision(hit.id, hit.params, prefix);
}

/**
 * Synapse's match first; if none, and the path ends in one `/`, the match without it. Synapse
 * 404s/405s most of these, so policing them costs nothing; matrix-corporal tolerated the trailing
 * slash on its policed routes after `…/state/m.room.encryption/` was used to bypass a check.
 * Where Synapse does execute the slashed form (an empty txnId or state key), the exact match wins.
 */
function matchTolerantOfTrailingSlash(families: RouteFamilies, segments: readonly string[], method: string): RouteHit | null {
  const hit = matchRoute(families, segments, method);
  if (hit !== null || segments.length < 2 || segments[segments.length - 1] !== '') return hit;
  return matchRoute(families, segments.slice(0, -1), method);
}

function normaliseMethod(method: string): string {
  const upper = method.toUpperCase();
  return upper === 'HEAD' ? 'GET' : upper;
}

function otherDecision(prefix: string): RouteDecision {
  return OTHER_BY_PREFIX.get(prefix) ?? routeDecision('other', NO_PARAMS, prefix);
}

function routeDecision(id: RouteId, params: Readonly<Record<string, string>>, prefix: string): RouteDecision {
  return { kind: 'route', match: { id, params, prefix } };
}
