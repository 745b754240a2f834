/**
 * TEMPORARY stand-in for `src/gateway/router/` (branch `router`), with the same signature, so the
 * data plane can be built and tested before that branch is merged. It knows only the few route
 * ids the data plane itself acts on (long-polls, logout) and is NOT Synapse-exact: no canonical
 * path check, no percent-decoding, no policed routes. Delete this file and import from
 * `./router/index.js` once the router lands on main.
 */

/** Same shape as the router's `RouteMatch`. */
export interface RouteMatch {
  readonly id: string;
  readonly params: Readonly<Record<string, string>>;
  readonly prefix: string;
}

/** Same shape as the router's `RouteDecision`. */
export type RouteDecision =
  | { readonly kind: 'redirect'; readonly location: string }
  | { readonly kind: 'unsupported-version' }
  | { readonly kind: 'options' }
  | { readonly kind: 'info' }
  | { readonly kind: 'internal-rest-auth' }
  | { readonly kind: 'route'; readonly match: RouteMatch };

const CLIENT = /^\/_matrix\/client\/(r0|v1|v3|unstable|api\/v1|[rv][0-9]+)(\/.*)?$/;
const NO_PARAMS = Object.freeze({});

/** Shim of the router's `routeRequest` (see the module comment). */
export function routeRequest(method: string, rawPath: string, _rawQuery: string): RouteDecision {
  const upper = method.toUpperCase();
  if (upper === 'OPTIONS') return { kind: 'options' };
  if (rawPath === '/_matrix/client/corporal' && (upper === 'GET' || upper === 'HEAD')) return { kind: 'info' };
  if (rawPath === '/_matrix/corporal/_matrix-internal/identity/v1/check_credentials' && upper === 'POST') return { kind: 'internal-rest-auth' };
  const client = CLIENT.exec(rawPath);
  if (client) {
    const prefix = client[1]!;
    if (!['r0', 'v1', 'v3', 'unstable', 'api/v1'].includes(prefix)) return { kind: 'unsupported-version' };
    const rest = client[2] ?? '';
    const id = rest === '/sync' ? 'sync'
      : rest === '/org.matrix.simplified_msc3575/sync' ? 'sync.sliding'
        : rest === '/events' ? 'events'
          : rest === '/logout' ? 'logout'
            : rest === '/logout/all' ? 'logout.all'
              : rest.startsWith('/media/download/') ? 'media.download'
                : 'other';
    return { kind: 'route', match: { id, params: NO_PARAMS, prefix } };
  }
  if (rawPath.startsWith('/_matrix/media/')) {
    const id = /^\/_matrix\/media\/[^/]+\/upload/.test(rawPath) ? 'media.upload' : 'media.other';
    return { kind: 'route', match: { id, params: NO_PARAMS, prefix: 'media' } };
  }
  return { kind: 'route', match: { id: 'other', params: NO_PARAMS, prefix: '' } };
}
