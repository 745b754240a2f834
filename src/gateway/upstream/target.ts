/** Where proxied requests go: the origin of `Matrix.HomeserverApiEndpoint` and its base path. */
export interface UpstreamTarget {
  /** `http://host:port` (what an undici pool connects to). */
  origin: string;
  /** `host:port` (no port when it is the scheme's default): the `Host` undici writes to the origin. */
  host: string;
  /** The endpoint's path without a trailing slash (`''` for none), prepended to every request path. */
  basePath: string;
}

/**
 * Splits `Matrix.HomeserverApiEndpoint` (validated as an http(s) URL by the config loader). As in
 * matrix-corporal (Go's `NewSingleHostReverseProxy`), a request for `/x` goes to `basePath + /x`.
 */
export function parseUpstreamTarget(endpoint: string): UpstreamTarget {
  const url = new URL(endpoint);
  const basePath = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
  return { origin: url.origin, host: url.host, basePath };
}
