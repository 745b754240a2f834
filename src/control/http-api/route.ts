import type { IncomingHttpHeaders } from 'node:http';

/** A request as a route handler sees it (already authenticated, body read within its bound). */
export interface ApiRequest {
  method: string;
  /** Path parameters, percent-decoded (`{userId}` → `@u:example.com`). */
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The request body (empty when none was sent). */
  body: Buffer;
}

/** What a handler answers: a status and a JSON body (sent with CORS and no-store headers). */
export interface ApiResponse {
  status: number;
  /** Serialised as JSON; with `contentType`, a string sent as it is. */
  body: unknown;
  /** The body's type when it is not JSON (`/metrics`: Prometheus' text format). */
  contentType?: string;
}

/** One method of a route. */
export interface RouteMethod {
  /** Stable id, used in logs (`policy.get`, `policy.put`, …). */
  id: string;
  /** Largest request body accepted; a larger one is answered 413 `M_TOO_LARGE` unread. */
  maxBodyBytes: number;
  handle(request: ApiRequest): Promise<ApiResponse> | ApiResponse;
  /** Log its authenticated requests at debug rather than info (a scrape every few seconds would fill the log). */
  quiet?: boolean;
  /** Also accept the server's metrics token (`HttpApi.MetricsAuthorizationBearerToken`): `/metrics` only. */
  acceptsMetricsToken?: boolean;
}

/** A path pattern (`/_matrix/corporal/user/{userId}/access-token`) and the methods it serves. */
export interface Route {
  pattern: string;
  methods: Readonly<Record<string, RouteMethod>>;
}

/** Request bodies of endpoints that take small JSON objects. */
export const SMALL_BODY_BYTES = 64 * 1024;

/** A {@link Route} compiled for matching. */
export interface CompiledRoute {
  route: Route;
  /** Literal segments as strings, parameters as `{ param: name }`. */
  segments: ReadonlyArray<string | { param: string }>;
}

/** Compiles route patterns once, at start. */
export function compileRoutes(routes: readonly Route[]): CompiledRoute[] {
  return routes.map((route) => ({
    route,
    segments: route.pattern.split('/').slice(1).map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment)?.[1];
      return param === undefined ? segment : { param };
    }),
  }));
}

/**
 * Finds the route for a raw (still percent-encoded) path. Each segment is decoded on its own, so
 * `%40u%3Aexample.com` and `@u:example.com` both match `{userId}` (as in matrix-corporal), while an
 * encoded `/` stays inside its segment. No trailing-slash or case tolerance: the paths are exact.
 */
export function matchRoute(routes: readonly CompiledRoute[], rawPath: string): { route: Route; params: Record<string, string> } | null {
  if (!rawPath.startsWith('/')) return null;
  const raw = rawPath.split('/').slice(1);
  let decoded: string[];
  try {
    decoded = raw.map((segment) => decodeURIComponent(segment));
  } catch {
    return null;
  }
  for (const { route, segments } of routes) {
    if (segments.length !== decoded.length) continue;
    const params: Record<string, string> = {};
    const matches = segments.every((segment, i) => {
      const value = decoded[i]!;
      if (typeof segment === 'string') return segment === value;
      params[segment.param] = value;
      return value !== '';
    });
    if (matches) return { route, params };
  }
  return null;
}
