/**
 * The gateway's Synapse-exact router: `routeRequest` decides, for one request, what the gateway
 * does and which Synapse action (route id) it is. See docs/routing.md.
 */
export { routeRequest, CLIENT_ROOT, INFO_PATH, INTERNAL_REST_AUTH_PATH, LOCAL_ROUTE_IDS, MAX_REQUEST_TARGET_LENGTH, TARGET_TOO_LONG_ROUTE_ID, UNROUTED_ROUTE_ID } from './route-request.js';
export type { LocalRouteId } from './route-request.js';
export type { RouteDecision, RouteMatch } from './route-request.js';
export { ROUTE_IDS, ROUTE_ID_DOCS } from './route-ids.js';
export type { RouteId } from './route-ids.js';
export { unquote } from './unquote.js';
